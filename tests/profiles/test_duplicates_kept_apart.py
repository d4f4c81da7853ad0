"""Suspected duplicates leave out kept-apart pairs, as the dedup does (docs/dedup.md)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dedup.services.marks import keep_apart
from profiles.selectors.duplicates import duplicate_groups, suspected_duplicates_of
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

DUPLICATES = reverse("admin:profiles_person_duplicates")


def test_the_sidebar_does_not_suggest_someone_kept_apart():
    ann = PersonFactory(email="ann@x.io", phone="555")
    sister = PersonFactory(email="ann@x.io")
    other = PersonFactory(phone="555")
    keep_apart(people=[ann, sister], actor=None, reason="sisters")

    assert [s.person.pk for s in suspected_duplicates_of(ann)] == [other.pk]
    assert suspected_duplicates_of(sister) == []


def test_a_group_splits_around_its_marks_as_the_dedup_splits_it():
    a, b, c = (PersonFactory(email="dup@x.io") for _ in range(3))
    keep_apart(people=[a, b], actor=None, reason="different")

    groups = duplicate_groups("email", ["dup@x.io"])

    # Rank order a, b, c: b may not join a, c may; b alone is not suggested.
    assert [[p.pk for p in group.people] for group in groups] == [[a.pk, c.pk]]
    assert [(x.pk, y.pk) for x, y in groups[0].kept_apart] == [(a.pk, b.pk)]


def test_a_group_whose_people_are_all_kept_apart_is_not_suggested(admin_client):
    a, b = PersonFactory(email="apart@x.io"), PersonFactory(email="apart@x.io")
    keep_apart(people=[a, b], actor=None, reason="different")

    page = admin_client.get(DUPLICATES).content.decode()

    assert "apart@x.io — everyone sharing it is marked as not the same person" in page
    assert f'name="ids" value="{a.pk}"' not in page
