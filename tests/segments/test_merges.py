"""Merges carry memberships (no re-entry, earliest entry kept, base re-evaluated once) and
undo restores every participant's memberships exactly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from profiles.admin.timeline import entries as entries_of
from profiles.models import Activity, ActivityKind, Person
from profiles.services import merge_people, undo_merge
from segments.models import SegmentMembership
from segments.services import create_segment, segments_of
from tests.factories import PersonFactory
from tests.segments.helpers import activity

pytestmark = pytest.mark.django_db


def state() -> set[tuple]:
    return set(SegmentMembership.objects.values_list(
        "segment_id", "person_id", "original_person_id", "entered_at", "own_entered_at"))


def entries(kind: str = ActivityKind.SEGMENT_ENTERED) -> int:
    return Activity.objects.filter(kind=kind).count()


def _age(person: Person, segment, days: int) -> None:
    at = timezone.now() - dt.timedelta(days=days)
    SegmentMembership.objects.filter(person=person, segment=segment).update(
        entered_at=at, own_entered_at=at)


def test_merge_keeps_the_earliest_entry_without_reentry_and_undo_is_exact():
    base, other = PersonFactory(city="Paris"), PersonFactory(city="Paris", user_id=None)
    segment = create_segment(name="Parisians", definition={
        "field": "city", "op": "eq", "value": "paris"})
    _age(base, segment, 1)
    _age(other, segment, 10)
    before, entered = state(), entries()

    record = merge_people(base=base, others=[other])

    [mine] = segments_of(person=Person.objects.get(pk=base.pk))
    assert mine.entered_at == SegmentMembership.objects.get(person=other).entered_at
    assert entries() == entered and entries(ActivityKind.SEGMENT_LEFT) == 0
    undo_merge(record=record)
    assert state() == before


def test_combined_counts_enter_once_and_undo_takes_it_back():
    base, other = PersonFactory(), PersonFactory()
    for person in (base, other):
        activity(person, ActivityKind.PURCHASE)
        activity(person, ActivityKind.PURCHASE)
    loyal = create_segment(name="Loyal", definition={
        "kind": "purchase", "count": {"op": "gte", "value": 3}})
    assert state() == set()

    record = merge_people(base=base, others=[other])
    assert {row[1] for row in state()} == {base.pk}
    assert list(Activity.objects.filter(kind=ActivityKind.SEGMENT_ENTERED)
                .values_list("person_id", "properties__segment")) == [(base.pk, loyal.name)]
    undo_merge(record=record)
    assert state() == set()


def test_base_leaving_after_merge_is_put_back_by_undo():
    base, other = PersonFactory(page_views=2), PersonFactory(page_views=2)
    light = create_segment(name="Light readers", definition={
        "field": "page_views", "op": "lt", "value": 3})
    _age(other, light, 5)
    before = state()
    assert {row[1] for row in before} == {base.pk, other.pk}

    record = merge_people(base=base, others=[other])
    live = set(SegmentMembership.objects.filter(person__merged_into__isnull=True)
               .values_list("person_id", flat=True))
    assert live == set()  # 4 page views together: the base left, once
    left = Activity.objects.get(kind=ActivityKind.SEGMENT_LEFT)
    [entry] = entries_of([left])
    assert str(entry.sentence).startswith("Segment left: “Light readers” after a merge (")
    assert f"journal #{record.pk}</a>" in str(entry.sentence)
    assert "row" not in str(entry.details)  # the kept row is for undo, not for reading
    undo_merge(record=record)
    assert state() == before


def test_identify_merge_does_not_reenter(post):
    create_segment(name="Visitors", definition={"kind": "page_view"})
    post("track", {"anonymous_id": "phone", "kind": "page_view"})
    post("track", {"anonymous_id": "laptop", "kind": "page_view"})
    post("identify", {"anonymous_id": "phone", "user_id": "u-1"})
    post("identify", {"anonymous_id": "laptop", "user_id": "u-1"})
    live = Person.objects.get(merged_into__isnull=True)
    assert SegmentMembership.objects.filter(person=live).count() == 1
    assert entries() == 2  # each device entered once, the merge added none


def test_dedup_run_carries_memberships_without_reentry_and_undo_is_exact():
    from dedup.services import run_dedup
    from profiles.models import MergeRecord

    PersonFactory(email="ann@example.com", city="Paris")
    PersonFactory(email=" ANN@example.com", city="Paris", user_id=None)
    create_segment(name="Parisians", definition={"field": "city", "op": "eq", "value": "Paris"})
    before, entered = state(), entries()

    run = run_dedup()

    assert run.status == "succeeded"
    live = Person.objects.get(merged_into__isnull=True)
    assert [s.name for s in segments_of(person=live)] == ["Parisians"]
    assert entries() == entered and entries(ActivityKind.SEGMENT_LEFT) == 0
    undo_merge(record=MergeRecord.objects.get())
    assert state() == before
