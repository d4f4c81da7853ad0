"""GET /v1/projects/{writeKey}/settings: analytics.js starts with Onefold as its only
destination."""

from __future__ import annotations

import pytest

from profiles.services.sites import revoke_site_key

pytestmark = pytest.mark.django_db


def test_the_settings_point_the_browser_library_at_this_server(client, site):
    response = client.get(f"/v1/projects/{site.plain_key}/settings",
                          HTTP_ORIGIN="https://shop.example")

    assert response.status_code == 200
    settings = response.json()
    assert list(settings["integrations"]) == ["Segment.io"]  # no other destination
    onefold = settings["integrations"]["Segment.io"]
    assert onefold["apiKey"] == site.plain_key
    assert (onefold["protocol"], onefold["apiHost"]) == ("http", "testserver/v1")
    assert settings["remotePlugins"] == [] and settings["enabledMiddleware"] == {}
    assert settings["metrics"]["sampleRate"] == 0  # nothing sent to Segment's servers
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"


def test_an_origin_the_site_does_not_list_cannot_read_them(client, site):
    response = client.get(f"/v1/projects/{site.plain_key}/settings",
                          HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("which", ["unknown", "revoked"])
def test_a_bad_key_gets_401(client, site, which):
    key = "ofk_unknown" if which == "unknown" else site.plain_key
    if which == "revoked":
        revoke_site_key(site=site)

    response = client.get(f"/v1/projects/{key}/settings")

    assert response.status_code == 401 and response.json()["success"] is False


def test_only_get_and_head(client, site):
    assert client.post(f"/v1/projects/{site.plain_key}/settings").status_code == 405
    assert client.head(f"/v1/projects/{site.plain_key}/settings").status_code == 200
