"""The Segment tracking API's envelope: paths, keys, bodies, and every documented status."""

from __future__ import annotations

import base64
import gzip
import importlib
import json

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import clear_url_caches

import crm.urls
from profiles.services.sites import revoke_site_key
from tests.api.conftest import row_counts
from tests.api.segment.conftest import basic

pytestmark = pytest.mark.django_db

PAGE = {"anonymousId": "dev-1", "properties": {"url": "https://shop.example/"}}
MESSAGES = {
    "identify": {"userId": "u-1", "traits": {"name": "Ann"}},
    "track": {"anonymousId": "dev-1", "event": "Signed Up"},
    "page": PAGE,
    "screen": {"anonymousId": "dev-1", "name": "Home"},
    "group": {"userId": "u-1", "groupId": "g-1", "traits": {"name": "ACME"}},
    "alias": {"previousId": "dev-1", "userId": "u-1"},
    "batch": {"batch": [{"type": "page", **PAGE}]},
}
SHORT = {"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias",
         "b": "batch"}


@pytest.mark.parametrize("path", [*MESSAGES, *SHORT])
def test_every_endpoint_and_its_short_form_answers_success(segment, path):
    body = MESSAGES[SHORT.get(path, path)]
    before = row_counts()

    response = segment(path, body)

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert row_counts()["activities"] > before["activities"]  # recorded, not only answered


def test_a_trailing_slash_is_accepted(segment):
    assert segment("track/", MESSAGES["track"]).status_code == 200


def test_the_write_key_may_be_in_the_body(segment, site):
    response = segment("track", {**MESSAGES["track"], "writeKey": site.plain_key}, key="")

    assert response.status_code == 200


def test_the_apis_own_bearer_key_works_too(client, site):
    response = client.post("/v1/track", MESSAGES["track"], content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {site.plain_key}")

    assert response.status_code == 200


def test_text_plain_bodies_are_json(segment):
    """The browser library sends text/plain (a simple request: no CORS preflight)."""
    response = segment("p", PAGE, content_type="text/plain")

    assert response.status_code == 200 and row_counts()["activities"] == 1


def test_gzip_bodies_are_unpacked(segment):
    response = segment("batch", MESSAGES["batch"], gzipped=True)

    assert response.status_code == 200 and row_counts()["activities"] == 1


@pytest.mark.parametrize(
    ("raw", "headers", "field"),
    [
        (b"{not json", {}, "body"),
        (b"[1, 2]", {}, "body"),
        (b'{"a": 1, "a": 2}', {}, "body"),
        (b"\x1f\x8b broken gzip", {"CONTENT_ENCODING": "gzip"}, "body"),
        (gzip.compress(b'{"batch": []}')[:-6], {"CONTENT_ENCODING": "gzip"}, "body"),
        (b"{}", {"CONTENT_ENCODING": "br"}, "content-encoding"),
        (b'{"batch": {"type": "page"}}', {}, "batch"),
        (b'{"batch": [], "context": "web"}', {}, "context"),
    ],
)
def test_invalid_bodies_are_400_and_write_nothing(segment, raw, headers, field):
    before = row_counts()

    response = segment("batch", raw=raw, **headers)

    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert response.json()["success"] is False and response.json()["code"] == "invalid"
    assert row_counts() == before


def test_a_message_over_32_kb_is_400(segment):
    big = {**MESSAGES["track"], "properties": {"note": "x" * (33 * 1024)}}

    assert segment("track", big).status_code == 400
    response = segment("batch", {"batch": [MESSAGES["page"] | {"type": "page"}, big]})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "batch[1]"
    assert row_counts()["activities"] == 0  # the good message is not written either


@pytest.mark.parametrize("index", [0, 57, 199])
def test_a_message_over_32_kb_among_many_is_found_wherever_it_is(segment, index):
    # The messages are measured a run at a time: the oversized one is named in any run.
    small = [{"type": "page", **MESSAGES["page"], "properties": {"n": "y" * 300}}
             for _ in range(200)]
    small[index] = {"type": "track", **MESSAGES["track"], "properties": {"n": "x" * 33_000}}

    response = segment("batch", {"batch": small})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == f"batch[{index}]"
    assert row_counts()["activities"] == 0


def test_a_batch_of_many_messages_each_under_32_kb_is_accepted(segment):
    # Runs sized at the average message: the ones of 20 KB messages are over 32 KB together,
    # so each of those is measured alone, and none is over.
    messages = [{"type": "page", **MESSAGES["page"], "properties": {"n": "y" * size}}
                for size in [200] * 20 + [20_000] * 10]

    assert segment("batch", {"batch": messages}).status_code == 200


def test_a_batch_over_500_kb_is_400_also_once_unpacked(segment):
    messages = [{"type": "track", **MESSAGES["track"], "properties": {"n": "x" * 20_000}}
                for _ in range(26)]

    plain = segment("batch", {"batch": messages})
    packed = segment("batch", {"batch": messages}, gzipped=True)  # small on the wire

    assert plain.status_code == packed.status_code == 400
    assert row_counts()["activities"] == 0


@pytest.mark.parametrize(
    "authorization",
    ["", basic("ofk_unknown-key"), "Basic !!!not-base64", "Bearer ofk_nope"],
)
def test_a_missing_or_unknown_key_is_401(client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.post("/v1/track", MESSAGES["track"], content_type="application/json",
                           **headers)

    assert response.status_code == 401
    assert response.json()["error"]["field"] == "authorization"


def test_a_revoked_key_is_401(segment, site):
    revoke_site_key(site=site)

    assert segment("track", MESSAGES["track"]).status_code == 401


def test_over_the_rate_limit_is_429_with_retry_after(segment, site):
    site.rate_limit_per_minute = 3
    site.save()
    cache.clear()

    assert segment("batch", {"batch": [{"type": "page", **PAGE}] * 3}).status_code == 200
    refused = segment("track", MESSAGES["track"])

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert row_counts()["activities"] == 3


def test_other_methods_are_405(client):
    assert client.get("/v1/track").status_code == 405


def test_an_unknown_path_is_a_json_404(segment):
    response = segment("identity", MESSAGES["identify"])

    assert response.status_code == 404 and response.json()["error"]["field"] == "path"


def test_an_origin_the_site_does_not_list_is_403(segment):
    response = segment("track", MESSAGES["track"], origin="https://evil.example")

    assert response.status_code == 403 and row_counts()["activities"] == 0


def test_a_listed_origin_may_read_the_answer(segment):
    response = segment("track", MESSAGES["track"], origin="https://shop.example")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"


def test_the_preflight_of_the_browser_library_is_answered(client, site):
    response = client.options("/v1/t", HTTP_ORIGIN="https://shop.example",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                              HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type")

    assert response.status_code == 204
    assert "Authorization" in response["Access-Control-Allow-Headers"]


def test_a_host_the_server_does_not_answer_for_is_a_json_400(client, site):
    response = client.post("/v1/track", MESSAGES["track"], content_type="application/json",
                           HTTP_HOST="evil.example", HTTP_AUTHORIZATION=basic(site.plain_key))

    assert response.status_code == 400 and response.json()["error"]["field"] == "host"


def test_basic_auth_as_the_python_library_builds_it(client, site):
    token = base64.b64encode(f"{site.plain_key}:".encode()).decode()

    response = client.post("/v1/batch", json.dumps(MESSAGES["batch"]),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Basic {token}")

    assert response.status_code == 200


@pytest.fixture
def mounted_under_segment():
    """crm/urls.py as it is with ONEFOLD_SEGMENT_PREFIX=segment."""
    with override_settings(ONEFOLD_SEGMENT_PREFIX="segment"):
        importlib.reload(crm.urls)
        clear_url_caches()
        yield
    importlib.reload(crm.urls)
    clear_url_caches()


def test_the_api_can_be_mounted_under_a_prefix(client, site, mounted_under_segment):
    response = client.post("/segment/v1/t", MESSAGES["track"], content_type="application/json",
                           HTTP_AUTHORIZATION=basic(site.plain_key))
    settings = client.get(f"/segment/v1/projects/{site.plain_key}/settings")
    bad_host = client.post("/segment/v1/t", MESSAGES["track"], content_type="application/json",
                           HTTP_HOST="evil.example")

    assert response.status_code == 200
    assert settings.json()["integrations"]["Segment.io"]["apiHost"] == "testserver/segment/v1"
    assert bad_host.status_code == 400 and bad_host.json()["error"]["field"] == "host"
    assert client.post("/v1/t", MESSAGES["track"]).status_code == 404  # only there
