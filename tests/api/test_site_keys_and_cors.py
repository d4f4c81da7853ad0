"""The website-facing surface: site admin permissions and key display, key cache and revocation,
verification secrets, CORS as the snippet sees it, the snippet and demo pages over HTTP."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.urls import reverse

from profiles.models import Site
from profiles.services.sites import hash_key, issue_site_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SNIPPET = "/onefold.js"


def _staff_with(*codenames: str):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.mark.parametrize("action", ["revoke_keys", "issue_new_keys"])
def test_a_view_only_staff_user_cannot_run_the_key_actions(client, site, action):
    # Viewing sites must not be enough to revoke a key or to mint a new one (and be shown it,
    # with the identity-verification secret).
    client.force_login(_staff_with("view_site"))
    changelist = reverse("admin:profiles_site_changelist")
    old_hash = site.key_hash

    page = client.get(changelist)
    assert page.status_code == 200
    assert action not in page.content.decode()
    response = client.post(changelist, {"action": action, "_selected_action": [site.pk]},
                           follow=True)

    site.refresh_from_db()
    assert site.revoked_at is None and site.key_hash == old_hash
    text = response.content.decode()
    assert "shown once" not in text and site.verification_secret not in text


@pytest.mark.parametrize("action", ["revoke_keys", "issue_new_keys"])
def test_a_staff_user_who_may_change_sites_can_run_the_key_actions(client, site, action):
    client.force_login(_staff_with("view_site", "change_site"))
    old_hash = site.key_hash

    response = client.post(reverse("admin:profiles_site_changelist"),
                           {"action": action, "_selected_action": [site.pk]})

    assert response.status_code in (200, 302)
    site.refresh_from_db()
    assert site.revoked_at is not None or site.key_hash != old_hash


def test_key_actions_do_not_run_on_get(admin_client, site):
    old_hash = site.key_hash
    admin_client.get(reverse("admin:profiles_site_changelist"),
                     {"action": "issue_new_keys", "_selected_action": [site.pk]})
    site.refresh_from_db()
    assert site.key_hash == old_hash and site.revoked_at is None


def _messages_cookie(response) -> str:
    morsel = response.cookies.get("messages")
    return morsel.value if morsel else ""


def test_the_new_key_never_travels_in_the_messages_cookie(admin_client):
    import base64
    import zlib

    response = admin_client.post(
        reverse("admin:profiles_site_add"),
        {"name": "Shop", "allowed_origins": "https://shop.example", "rate_limit_per_minute": 100},
    )
    value = _messages_cookie(response)
    payload = value.split(":")[0]
    compressed = payload.startswith(".")
    raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
    text = (zlib.decompress(raw) if compressed else raw).decode()
    assert "ofk_" not in text


def test_issuing_a_new_key_shows_only_the_key_not_the_secret(admin_client, site):
    response = admin_client.post(reverse("admin:profiles_site_changelist"),
                                 {"action": "issue_new_keys", "_selected_action": [site.pk]},
                                 follow=True)

    site.refresh_from_db()
    html = response.content.decode()
    key = re.search(r"(ofk_[\w-]+)", html).group(1)
    assert site.key_hash == hash_key(key)
    assert site.verification_secret not in html


def test_the_verification_secret_can_be_rotated_by_a_site_editor(admin_client, site, post):
    from profiles.services.sites import user_hash

    site.require_identity_verification = True
    site.save()
    old_hash = user_hash(site=site, user_id="u-1")
    old = site.verification_secret
    response = admin_client.post(reverse("admin:profiles_site_changelist"),
                                 {"action": "rotate_verification_secrets",
                                  "_selected_action": [site.pk]}, follow=True)

    site.refresh_from_db()
    assert site.verification_secret and site.verification_secret != old
    assert site.verification_secret in response.content.decode()
    body = {"anonymous_id": "d-1", "user_id": "u-1"}
    assert post("identify", {**body, "user_hash": old_hash}).status_code == 403
    assert post("identify", {**body, "user_hash": user_hash(site=site, user_id="u-1")}
                ).status_code == 200


def test_a_view_only_staff_user_cannot_rotate_the_secret(client, site):
    client.force_login(_staff_with("view_site"))
    old = site.verification_secret
    client.post(reverse("admin:profiles_site_changelist"),
                {"action": "rotate_verification_secrets", "_selected_action": [site.pk]})
    site.refresh_from_db()
    assert site.verification_secret == old


def test_the_site_change_page_never_shows_the_key_hash_or_the_secret(admin_client, site):
    html = admin_client.get(reverse("admin:profiles_site_change", args=[site.pk])).content.decode()
    assert site.key_hash not in html and site.verification_secret not in html


def test_a_site_without_a_secret_cannot_be_verified_with_the_empty_key_hmac(client, site):
    # A Site created outside the admin (shell) with verification on and no secret: HMAC with an
    # empty key is computable by anyone, so it must verify nothing.
    import hashlib
    import hmac

    from profiles.services.verification import is_signed

    site.verification_secret = ""
    site.require_identity_verification = True
    site.save()
    forged = hmac.new(b"", b"u-1", hashlib.sha256).hexdigest()
    assert not is_signed(site=site, value="u-1", given=forged)


# --- CORS as the snippet sees it ---

def test_a_revoked_key_from_a_listed_origin_gets_a_readable_401(post, site):
    # Without Access-Control-Allow-Origin the browser hides the 401 as a network error, and the
    # snippet cannot tell "revoked key" from "offline".
    from profiles.services.sites import revoke_site_key

    revoke_site_key(site=site)
    response = post("track", {"anonymous_id": "d-1", "kind": "page_view"},
                    origin="https://shop.example")
    assert response.status_code == 401
    assert response.get("Access-Control-Allow-Origin") == "https://shop.example"


def test_retry_after_is_exposed_to_cross_origin_scripts(post, site):
    site.rate_limit_per_minute = 1
    site.save()
    body = {"anonymous_id": "d-1", "kind": "page_view"}
    post("track", body, origin="https://shop.example")
    response = post("track", body, origin="https://shop.example")
    assert response.status_code == 429
    assert "retry-after" in response.get("Access-Control-Expose-Headers", "").lower()


# --- the snippet and the demo page ---

def test_snippet_has_no_dependency_and_one_global(client):
    source = client.get(SNIPPET).content.decode()
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)  # the header comment shows usage
    assert "import " not in source and "require(" not in source
    assigned = set(re.findall(r"window\.(\w+)\s*=(?!=)", source))
    assert assigned == {"onefold"}


@override_settings(ONEFOLD_DEMO=True)
def test_demo_shop_echoes_nothing_from_the_query_string(client):
    from profiles.services.sites import ensure_demo_site

    ensure_demo_site()
    payload = '"><script>alert(1)</script>'
    response = client.get("/demo/", {"product": payload, "utm_source": payload})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)" not in html and "alert(1)" not in html


@override_settings(ONEFOLD_DEMO=True)
def test_demo_shop_is_served_with_demo_on_even_without_debug(client, settings):
    from profiles.services.sites import ensure_demo_site

    ensure_demo_site()
    settings.DEBUG = False
    assert client.get("/demo/").status_code == 200


def test_a_rotated_key_is_issued_with_a_fresh_prefix(site):
    old_prefix = site.key_prefix
    issue_site_key(site=site)
    assert site.key_prefix != old_prefix


def test_a_lookup_racing_a_revoke_does_not_cache_the_unrevoked_site(post, site, monkeypatch,
                                                                    settings):
    # Thread A reads the site, the admin (same process) revokes it, then A would cache what it
    # read: the revoked key would be accepted here for ONEFOLD_SITE_CACHE_SECONDS.
    from profiles.services import sites as keys

    settings.ONEFOLD_SITE_CACHE_SECONDS = 60
    keys.forget_sites()
    real = keys.site_by_key_prefix

    def read_then_revoke(prefix):
        found = real(prefix)
        keys.revoke_site_key(site=Site.objects.get(pk=site.pk))
        return found

    monkeypatch.setattr(keys, "site_by_key_prefix", read_then_revoke)
    assert post("track", {"anonymous_id": "d-1", "kind": "page_view"}).status_code == 200
    monkeypatch.setattr(keys, "site_by_key_prefix", real)

    response = post("track", {"anonymous_id": "d-1", "kind": "page_view"})
    assert response.status_code == 401
