"""Write keys (hashed, revocable), identity verification (HMAC), CORS and the rate limit."""

from __future__ import annotations

import pytest
from django.utils import timezone

from profiles.models import Person, Site
from profiles.services.sites import hash_key, issue_site_key, revoke_site_key, user_hash
from tests.api.conftest import row_counts
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db
TRACK = {"anonymous_id": "dev-1", "kind": "page_view"}


def test_key_is_stored_only_as_a_hash(site):
    site.refresh_from_db()
    assert site.plain_key not in (site.key_prefix, site.key_hash)
    assert site.key_hash == hash_key(site.plain_key)
    assert site.plain_key.startswith(site.key_prefix)


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "missing"), ("ofk_nottherightkeyatall", "unknown"), ("garbage", "unknown")],
)
def test_missing_or_unknown_key_is_refused_with_401(post, key, message):
    before = row_counts()

    response = post("track", TRACK, key=key)

    assert response.status_code == 401
    assert response.json()["error"]["field"] == "authorization"
    assert message in response.json()["error"]["message"]
    assert row_counts() == before


def test_x_onefold_key_header_is_accepted(client, site):
    response = client.post("/api/v1/track", TRACK, content_type="application/json",
                           HTTP_X_ONEFOLD_KEY=site.plain_key)
    assert response.status_code == 200


def test_revoked_key_is_refused(post, site):
    assert post("track", TRACK).status_code == 200
    revoke_site_key(site=site)
    before = row_counts()

    response = post("track", TRACK)

    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert row_counts() == before


def test_a_key_revoked_by_another_process_is_refused_once_the_site_cache_expires(
    post, site, monkeypatch, settings
):
    from profiles.services import sites as keys

    settings.ONEFOLD_SITE_CACHE_SECONDS = 2
    clock = [1000.0]
    monkeypatch.setattr(keys, "_clock", lambda: clock[0])
    assert post("track", TRACK).status_code == 200
    # Another web process revokes it: this process's cache hears nothing.
    Site.objects.filter(pk=site.pk).update(revoked_at=timezone.now())

    clock[0] += 1
    assert post("track", {**TRACK, "message_id": "m-cached"}).status_code == 200
    clock[0] += 1.5
    response = post("track", {**TRACK, "message_id": "m-expired"})

    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_a_new_key_replaces_the_old_one(post, site):
    old = site.plain_key
    new = issue_site_key(site=site)

    assert post("track", TRACK, key=old).status_code == 401
    assert post("track", TRACK, key=new).status_code == 200


@pytest.fixture
def verified_site(site):
    site.require_identity_verification = True
    site.save()
    return site


def test_identity_verification_accepts_the_right_hmac(post, verified_site):
    signed = user_hash(site=verified_site, user_id="u-1")

    response = post("identify", {"user_id": "u-1", "user_hash": signed})

    assert response.status_code == 200
    assert Person.objects.get().user_id == "u-1"


@pytest.mark.parametrize("given", [None, "", "0" * 64, "not-hex"])
def test_identity_verification_refuses_a_missing_or_wrong_hmac(post, verified_site, given):
    body = {"anonymous_id": "d", "user_id": "u-1"}
    if given is not None:
        body["user_hash"] = given
    before = row_counts()

    response = post("identify", body)

    assert response.status_code == 403
    assert response.json()["error"]["field"] == "user_hash"
    assert row_counts() == before


def test_identity_verification_accepts_an_upper_case_hex_hmac(post, verified_site):
    # Hex is case-insensitive: some server libraries print digests in upper case.
    signed = user_hash(site=verified_site, user_id="u-1").upper()

    response = post("identify", {"user_id": "u-1", "user_hash": signed})

    assert response.status_code == 200
    assert Person.objects.get().user_id == "u-1"


@pytest.mark.parametrize("given", [123, ["x"], {"a": 1}, True, "é" * 64, "\u212a" * 64])
def test_identity_verification_refuses_a_non_string_or_non_ascii_hmac(
    post, verified_site, given
):
    before = row_counts()

    response = post("identify", {"user_id": "u-1", "user_hash": given})

    assert response.status_code == 403
    assert response.json()["error"]["field"] == "user_hash"
    assert row_counts() == before


def test_hmac_of_another_user_does_not_verify(post, verified_site):
    other = user_hash(site=verified_site, user_id="someone-else")

    response = post("identify", {"user_id": "u-1", "user_hash": other})

    assert response.status_code == 403


def test_verification_also_guards_track_and_chat_by_user_id(post, verified_site):
    assert post("track", {"user_id": "u-1", "kind": "page_view"}).status_code == 403
    assert post("chat", {"user_id": "u-1", "text": "hi"}).status_code == 403
    assert post("track", TRACK).status_code == 200  # anonymous events need no signature


def test_verification_in_a_batch_names_the_index(post, verified_site):
    response = post("batch", {"batch": [{"type": "track", **TRACK},
                                        {"type": "identify", "user_id": "u-1"}]})

    assert response.status_code == 403
    assert response.json()["error"]["field"] == "batch[1].user_hash"


def test_preflight_allows_a_listed_origin(client, site):
    response = client.options("/api/v1/track", HTTP_ORIGIN="https://shop.example",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_preflight_gives_an_unlisted_origin_nothing(client, site):
    response = client.options("/api/v1/track", HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response


def test_post_from_a_listed_origin_gets_cors_headers(post):
    response = post("track", TRACK, origin="https://shop.example")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"


def test_post_from_an_unlisted_origin_is_refused(post):
    before = row_counts()

    response = post("track", TRACK, origin="https://evil.example")

    assert response.status_code == 403
    assert response.json()["error"]["field"] == "origin"
    assert "Access-Control-Allow-Origin" not in response
    assert row_counts() == before


def test_same_origin_pages_need_no_listing(post):
    assert post("track", TRACK, origin="http://testserver").status_code == 200


@pytest.mark.parametrize(
    "listed",
    ["https://Shop.Example", "https://shop.example/", "HTTPS://SHOP.EXAMPLE/",
     "  https://shop.example/checkout?x=1  ", "https://shop.example:443"],
)
def test_a_listed_origin_matches_whatever_its_case_slash_or_path(post, site, listed):
    # Browsers send the origin serialized: lower case, no path, no slash, no default port.
    site.allowed_origins = f"https://other.example\n{listed}\n"
    site.save()

    response = post("track", TRACK, origin="https://shop.example")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"


def test_preflight_matches_a_listed_origin_with_a_trailing_slash(client, site):
    site.allowed_origins = "https://Shop.Example/"
    site.save()

    response = client.options("/api/v1/track", HTTP_ORIGIN="https://shop.example")

    assert response["Access-Control-Allow-Origin"] == "https://shop.example"


@pytest.mark.parametrize(
    ("listed", "origins"),
    [
        ("*", ["*"]),
        ("https://Shop.Example:8443/a/", ["https://shop.example:8443"]),
        ("http://shop.example:80", ["http://shop.example"]),
        ("https://BÜCHER.example", ["https://xn--bcher-kva.example"]),
        ("https://[::1]:8000/", ["https://[::1]:8000"]),
        ("\n  \nhttps://a.example\r\nhttps://b.example/\n", ["https://a.example",
                                                         "https://b.example"]),
    ],
)
def test_site_origins_are_normalized(listed, origins):
    assert Site(allowed_origins=listed).origins == origins


@pytest.mark.parametrize(
    "listed", ["https://shop.example:8443", "http://shop.example", "https://shop.example.evil"]
)
def test_a_different_port_scheme_or_host_still_does_not_match(post, site, listed):
    site.allowed_origins = listed
    site.save()

    assert post("track", TRACK, origin="https://shop.example").status_code == 403


def test_wildcard_origin(post, site):
    site.allowed_origins = "*"
    site.save()
    assert post("track", TRACK, origin="https://anywhere.example").status_code == 200


def test_rate_limit_returns_429_with_retry_after(post, site):
    site.rate_limit_per_minute = 3
    site.save()
    statuses = [post("track", TRACK).status_code for _ in range(3)]
    before = row_counts()

    response = post("track", TRACK)

    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert row_counts() == before


def test_rate_limit_counts_events_in_a_batch(post, site):
    site.rate_limit_per_minute = 10
    site.save()
    assert post("batch", {"batch": [{"type": "track", **TRACK}] * 6}).status_code == 200

    response = post("batch", {"batch": [{"type": "track", **TRACK}] * 5})

    assert response.status_code == 429


def test_a_batch_bigger_than_the_whole_limit_is_refused_as_too_big_not_retryable(post, site):
    # With 429 the client would wait and resend the same batch forever: it can never fit.
    site.rate_limit_per_minute = 10
    site.save()
    before = row_counts()

    response = post("batch", {"batch": [{"type": "track", **TRACK}] * 11})

    assert response.status_code == 413
    assert "Retry-After" not in response
    assert response.json()["error"]["field"] == "batch"
    assert "10" in response.json()["error"]["message"]
    assert row_counts() == before
    # It used up nothing: a batch as big as the whole limit still fits in this window.
    assert post("batch", {"batch": [{"type": "track", **TRACK}] * 10}).status_code == 200


def test_a_refused_request_does_not_use_up_the_window(post, site):
    site.rate_limit_per_minute = 10
    site.save()
    assert post("batch", {"batch": [{"type": "track", **TRACK}] * 6}).status_code == 200
    assert post("batch", {"batch": [{"type": "track", **TRACK}] * 5}).status_code == 429

    # The refused 5 were given back: 4 more events still fit, the 11th does not.
    fits = post("batch", {"batch": [{"type": "track", **TRACK}] * 4})
    over = post("track", TRACK)

    assert (fits.status_code, over.status_code) == (200, 429)


def test_giving_back_after_the_window_expired_is_no_error(site, monkeypatch):
    from django.core.cache import cache

    from api import ratelimit

    site.rate_limit_per_minute = 1
    taken = ratelimit.take(site=site, client="10.0.0.1", cost=1)
    # The window's counter vanishes between counting and giving back: no error, no negative.
    monkeypatch.setattr(cache, "decr", lambda *a, **k: (_ for _ in ()).throw(ValueError()))
    ratelimit.give_back(taken)


def test_rate_limits_are_per_key(post, site):
    site.rate_limit_per_minute = 1
    site.save()
    other = SiteFactory()
    other_key = issue_site_key(site=other)

    assert post("track", TRACK).status_code == 200
    assert post("track", TRACK).status_code == 429
    assert post("track", TRACK, key=other_key).status_code == 200


def _redis_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_rate_limit_counts_in_redis_when_cache_url_points_there(post, site, settings):
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/2",
                                   "KEY_PREFIX": f"test-{site.pk}-{site.key_prefix}"}}
    caches["default"].clear()
    site.rate_limit_per_minute = 2
    site.save()

    statuses = [post("track", TRACK).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert type(caches["default"]).__name__ == "RedisCache"
    caches["default"].clear()
