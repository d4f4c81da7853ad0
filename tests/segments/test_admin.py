"""Segments in the admin: list, add/change through the services with the definition checked
(the error names the path), the count, the person page's box and the People filter."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from segments.models import Segment
from segments.services import create_segment
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import messages_of

pytestmark = pytest.mark.django_db
ADD = reverse("admin:segments_segment_add")
PARIS = {"field": "city", "op": "eq", "value": "Paris"}


def form(definition, **fields) -> dict:
    return {"name": "Parisians", "key": "", "description": "", "enabled": "on",
            "definition": json.dumps(definition), **fields}


def test_add_checks_the_definition_and_names_the_path(admin_client):
    response = admin_client.post(ADD, form({"all": [PARIS, {"field": "city", "op": "gt",
                                                              "value": "x"}]}))
    assert response.status_code == 200
    assert "The rule is not valid at $.all[1].op" in response.content.decode()
    assert not Segment.objects.exists()
    response = admin_client.post(ADD, {**form(PARIS), "definition": "{not json"})
    assert response.status_code == 200 and not Segment.objects.exists()


def test_add_builds_the_members_and_says_how_many(admin_client):
    ann = PersonFactory(city="Paris")
    PersonFactory(city="Rome")
    response = admin_client.post(ADD, form(PARIS))
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.key == "parisians"
    assert segment.created_by.is_superuser
    assert list(segment.memberships.values_list("person_id", flat=True)) == [ann.pk]
    assert "“Parisians” has 1 member now." in messages_of(response)


def test_change_rebuilds_and_shows_the_rule_and_count(admin_client):
    PersonFactory(city="Paris"), PersonFactory(city="Rome"), PersonFactory(city="rome")
    segment = create_segment(name="Parisians", definition=PARIS)
    url = reverse("admin:segments_segment_change", args=[segment.pk])
    page = admin_client.get(url).content.decode()
    assert "city is “paris”" in page and "1 person" in page
    response = admin_client.post(url, form({**PARIS, "value": "ROME"}, key="parisians"))
    assert response.status_code == 302
    assert segment.memberships.count() == 2
    listing = admin_client.get(reverse("admin:segments_segment_changelist")).content.decode()
    assert "Parisians" in listing and ">2<" in listing


def test_person_page_lists_segments_and_people_filter(admin_client):
    ann, bob = PersonFactory(city="Paris"), PersonFactory(city="Rome")
    segment = create_segment(name="Parisians", definition=PARIS)
    page = admin_client.get(reverse("admin:profiles_person_change", args=[ann.pk]))
    html = page.content.decode()
    assert 'id="person-segments"' in html and "Parisians" in html and "since" in html
    other = admin_client.get(reverse("admin:profiles_person_change", args=[bob.pk]))
    assert "In no segment" in other.content.decode()
    people = admin_client.get(reverse("admin:profiles_person_changelist"),
                              {"segment": str(segment.pk)})
    assert people.status_code == 200
    assert [p.pk for p in people.context["cl"].result_list] == [ann.pk]
    bad = admin_client.get(reverse("admin:profiles_person_changelist"), {"segment": "x"})
    assert bad.status_code == 200 and list(bad.context["cl"].result_list) == []


def test_preview_counts_and_samples_without_writing(admin_client, client):
    ann = PersonFactory(city="Paris", name="Ann")
    url = reverse("admin:segments_segment_preview")
    answer = admin_client.post(url, {"definition": json.dumps(PARIS)})
    assert answer.status_code == 200
    assert answer.json() == {"count": 1, "sample": [
        {"id": ann.pk, "name": "Ann", "url": f"/admin/profiles/person/{ann.pk}/change/"}]}
    bad = admin_client.post(url, {"definition": json.dumps({"any": []})})
    assert bad.status_code == 400 and bad.json()["error"]["path"] == "$.any"
    assert admin_client.post(url, {"definition": "{"}).status_code == 400
    assert admin_client.get(url).status_code == 405
    assert client.post(url, {"definition": json.dumps(PARIS)}).status_code == 302  # login
    assert not Segment.objects.exists()
