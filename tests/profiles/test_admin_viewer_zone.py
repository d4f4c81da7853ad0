"""Dates in the admin are readable and in the viewer's zone (the browser's, sent as a cookie)."""

from __future__ import annotations

import datetime as dt

import pytest

from profiles.admin.viewer_zone import COOKIE, zone_named
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import change_url

pytestmark = pytest.mark.django_db

WINTER_NOON_UTC = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def test_the_person_page_shows_dates_in_the_browsers_zone(admin_client):
    person = PersonFactory(last_seen=WINTER_NOON_UTC)
    admin_client.cookies[COOKIE] = "Europe/Paris"

    html = admin_client.get(change_url(person)).content.decode()

    assert "2 Dec 2026, 13:00 CET" in html


def test_without_a_zone_the_server_zone_is_used_and_named(admin_client):
    person = PersonFactory(last_seen=WINTER_NOON_UTC)

    html = admin_client.get(change_url(person)).content.decode()

    assert "2 Dec 2026, 12:00 UTC" in html


@pytest.mark.parametrize("value", ["Mars/Olympus", "../../etc/passwd", "", "x" * 300,
                                   "Europe/Paris\x00", "Évry"])
def test_a_forged_zone_is_ignored(admin_client, value):
    person = PersonFactory(last_seen=WINTER_NOON_UTC)
    admin_client.cookies[COOKIE] = value

    response = admin_client.get(change_url(person))

    assert response.status_code == 200
    assert zone_named(value) is None
    assert "2 Dec 2026, 12:00 UTC" in response.content.decode()


def test_every_admin_page_sends_the_browsers_zone(admin_client):
    html = admin_client.get("/admin/").content.decode()

    assert "Intl.DateTimeFormat().resolvedOptions().timeZone" in html
    assert COOKIE in html
