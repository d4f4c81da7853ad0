"""Tagging the plain Django way: `person.tags.add(tag)` works, and merges and undo follow it."""

from __future__ import annotations

import pytest

from profiles.models import PersonTag
from profiles.services import merge_people, undo_merge
from tests.factories import PersonFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_person_tags_add_records_the_person_as_the_original_owner():
    person, tag = PersonFactory(), TagFactory()

    person.tags.add(tag)  # what a developer types in `manage.py shell`

    row = PersonTag.objects.get(person=person, tag=tag)
    assert row.original_person_id == person.pk
    assert list(person.tags.all()) == [tag]


def test_every_other_way_of_inserting_defaults_it_too_and_an_explicit_owner_stays():
    person, other = PersonFactory(), PersonFactory()
    first, second, third = TagFactory.create_batch(3)

    created = PersonTag.objects.create(person=person, tag=first)
    [bulk] = PersonTag.objects.bulk_create([PersonTag(person=person, tag=second)])
    explicit = PersonTag.objects.create(person=person, tag=third, original_person=other)
    person.tags.set([first, second, third, TagFactory()])

    assert created.original_person_id == bulk.original_person_id == person.pk
    explicit.refresh_from_db()
    assert explicit.original_person_id == other.pk
    assert set(PersonTag.objects.filter(person=person).values_list("original_person", flat=True)
               ) == {person.pk, other.pk}


def test_a_tag_added_the_plain_way_moves_with_a_merge_and_back_with_its_undo():
    base, duplicate = PersonFactory(), PersonFactory()
    vip, newsletter = TagFactory(name="vip"), TagFactory(name="newsletter")
    duplicate.tags.add(vip)

    record = merge_people(base=base, others=[duplicate])
    assert list(base.tags.all()) == [vip]
    base.tags.add(newsletter)  # recorded on the base after the merge: stays there
    undo_merge(record=record)

    assert list(duplicate.tags.all()) == [vip]
    assert list(base.tags.all()) == [newsletter]
