"""Rate limits (issue 12, finding 5): refused requests are not counted, one client cannot use
up a site's budget. (Shared atomic counting in Redis across processes: test_production.py.)"""

from __future__ import annotations

import pytest

from profiles.models import Activity
from tests.api.conftest import row_counts

pytestmark = pytest.mark.django_db
TRACK = {"anonymous_id": "dev-1", "kind": "page_view"}
JUNK = {"anonymous_id": "undefined", "kind": "page_view"}


@pytest.fixture
def limited(site):
    site.rate_limit_per_minute = 120
    site.rate_limit_per_client_per_minute = 0
    site.save()
    return site


def test_invalid_requests_do_not_use_up_the_sites_budget(post, limited):
    statuses = {post("track", JUNK).status_code for _ in range(125)}

    response = post("track", TRACK)

    assert statuses == {400}
    assert response.status_code == 200


def test_junk_batches_that_write_nothing_do_not_use_up_the_budget(post, limited):
    junk = {"batch": [{"type": "track", **JUNK}] * 100}
    assert post("batch", junk).status_code == 400
    assert post("batch", junk).status_code == 400
    before = row_counts()

    response = post("batch", {"batch": [{"type": "track", **TRACK}] * 100})

    assert response.status_code == 200 and "Retry-After" not in response
    assert row_counts()["activities"] == before["activities"] + 100


def test_a_request_that_fails_while_writing_is_given_back(post, limited, monkeypatch):
    from profiles.services.resolution import ConflictError

    limited.rate_limit_per_minute = 2
    limited.save()

    def busy(*args, **kwargs):
        raise ConflictError("lost every race")

    monkeypatch.setattr("api.views.ingest.record_event", busy)
    assert {post("track", TRACK).status_code for _ in range(3)} == {409}
    monkeypatch.undo()

    assert [post("track", TRACK).status_code for _ in range(3)] == [200, 200, 429]


def test_one_client_cannot_use_up_the_sites_budget(post, limited):
    limited.rate_limit_per_client_per_minute = 3
    limited.save()
    greedy = [post("track", TRACK, remote_addr="203.0.113.7").status_code for _ in range(4)]

    other = post("track", {**TRACK, "anonymous_id": "dev-2"}, remote_addr="203.0.113.8")

    assert greedy == [200, 200, 200, 429]
    assert other.status_code == 200
    assert Activity.objects.count() == 4


def test_the_429_says_whose_limit_and_when_to_retry(post, limited):
    limited.rate_limit_per_client_per_minute = 1
    limited.save()
    post("track", TRACK)

    response = post("track", TRACK)

    assert response.status_code == 429
    assert "your address" in response.json()["error"]["message"]
    assert 1 <= int(response["Retry-After"]) <= 60


def test_an_ipv6_client_is_counted_by_its_slash_64(post, limited):
    limited.rate_limit_per_client_per_minute = 2
    limited.save()

    same_network = [post("track", TRACK, remote_addr=f"2001:db8:1:2::{n}").status_code
                    for n in (1, 2, 3)]
    next_network = post("track", TRACK, remote_addr="2001:db8:1:3::1").status_code

    assert same_network == [200, 200, 429] and next_network == 200


@pytest.mark.parametrize(("proxies", "counted_as"), [(0, "127.0.0.1"), (1, "198.51.100.9")])
def test_behind_trusted_proxies_the_client_is_the_address_the_proxy_saw(
    post, limited, settings, proxies, counted_as
):
    from django.test import RequestFactory

    from api.clients import client_key

    settings.ONEFOLD_TRUSTED_PROXIES = proxies
    request = RequestFactory().post("/api/v1/track", REMOTE_ADDR="127.0.0.1",
                                    HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.9")

    assert client_key(request) == counted_as


def test_a_made_up_forwarded_header_does_not_give_a_fresh_budget(post, limited, settings):
    settings.ONEFOLD_TRUSTED_PROXIES = 1
    limited.rate_limit_per_client_per_minute = 2
    limited.save()

    statuses = [
        post("track", TRACK, remote_addr="127.0.0.1",
             x_forwarded_for=f"10.0.0.{n}, 198.51.100.9").status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]
