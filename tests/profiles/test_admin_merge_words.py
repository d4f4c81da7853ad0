"""The merge pages in plain words: the pick page's search says who each person is and never
offers the person being merged into; the preview shows statuses by label, avatars as pictures
only and dates readably; refusals are sentences."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from profiles.models import Person
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import PREVIEW, messages_of, pick_url, staff_with

pytestmark = pytest.mark.django_db

SEARCH = reverse("admin:profiles_person_merge_search")


def search(client, term, exclude=None, **extra) -> list[dict]:
    params = {"term": term, **extra}
    if exclude is not None:
        params["exclude"] = exclude
    response = client.get(SEARCH, params)
    assert response.status_code == 200
    return response.json()["results"]


def test_the_search_shows_name_email_user_id_and_id_number(admin_client):
    ann = PersonFactory(name="Ann Lee", email="ann@example.com", user_id="u-42")

    [result] = search(admin_client, "Ann")

    assert result == {"id": str(ann.pk),
                      "text": f"Ann Lee · ann@example.com · user ID u-42 · #{ann.pk}"}


def test_the_search_never_offers_the_person_merged_into_nor_merged_profiles(admin_client):
    base = PersonFactory(name="Ann Lee")
    other = PersonFactory(name="Ann L.")
    gone = PersonFactory(name="Ann Gone")
    Person.objects.filter(pk=gone.pk).update(merged_into=other)

    ids = {int(result["id"]) for result in search(admin_client, "Ann", exclude=base.pk)}

    assert ids == {other.pk}


def test_the_pick_page_asks_the_search_that_leaves_the_person_out(admin_client):
    base = PersonFactory(name="Ann Lee")

    html = admin_client.get(pick_url(base)).content.decode()

    assert f'data-ajax--url="{SEARCH}?exclude={base.pk}"' in html


def test_the_search_pages_through_many_answers(admin_client):
    PersonFactory.create_batch(25, name="Bea")

    first = admin_client.get(SEARCH, {"term": "Bea"}).json()
    second = admin_client.get(SEARCH, {"term": "Bea", "page": "2"}).json()

    assert len(first["results"]) == 20 and first["pagination"]["more"] is True
    assert len(second["results"]) == 5 and second["pagination"]["more"] is False


def test_the_search_needs_the_merge_permission(client):
    client.force_login(staff_with("view_person"))

    assert client.get(SEARCH, {"term": "a"}).status_code == 403


def test_the_preview_shows_status_labels_avatar_pictures_and_readable_dates(admin_client):
    at = dt.datetime(2026, 3, 4, 9, 30, tzinfo=dt.UTC)
    base = PersonFactory(name="Ann", user_id="u-1", status="user", last_seen=at)
    other = PersonFactory(name="Ann L.", status="visitor", email="", avatar_seed="seed-xyz")

    html = admin_client.get(PREVIEW, {"ids": [base.pk, other.pk]}).content.decode()

    status = _row(html, "status")
    assert ">User<" in status.replace(" ", "") and "Visitor" in status
    assert ">user<" not in status and ">visitor<" not in status
    avatar = _row(html, "avatar_seed")
    assert "Avatar" in avatar and "<img" in avatar and "seed-xyz" not in avatar
    assert "4 Mar 2026, 09:30 UTC" in _row(html, "last_seen")


def _row(html: str, field: str) -> str:
    start = html.index(f'data-field="{field}"')
    return html[start:html.index("</tr>", start)]


def test_a_refused_merge_is_a_sentence(admin_client):
    one = PersonFactory(user_id="u-1")
    two = PersonFactory(user_id="u-2")

    response = admin_client.get(PREVIEW, {"ids": [one.pk, two.pk]}, follow=True)

    [message] = messages_of(response)
    assert message.startswith("Nothing was merged: ") and message.endswith(".")
    assert "['" not in message and "u-1" in message and "u-2" in message
