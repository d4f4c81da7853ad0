"""Dedup runs and segments: a chunk's bases are re-evaluated set-based (one query per segment
for the whole chunk), with the merge rules of a staff merge — union, earliest entry, no
re-entry, combined counts entering or leaving once — and undo restores every participant's
memberships exactly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dedup.services import run_dedup
from profiles.models import Activity, ActivityKind, MergeRecord, Person
from profiles.services import undo_merge
from segments.models import SegmentMembership
from segments.services import create_segment, merges
from tests.factories import PersonFactory
from tests.segments.helpers import activity

pytestmark = pytest.mark.django_db


def state() -> set[tuple]:
    return set(SegmentMembership.objects.values_list(
        "segment_id", "person_id", "original_person_id", "entered_at", "own_entered_at"))


def moves(kind: str) -> list[tuple[int, str]]:
    return sorted(Activity.objects.filter(kind=kind)
                  .values_list("person_id", "properties__segment"))


def pair(n: int, **extra) -> tuple[Person, Person]:
    """Two profiles of one person (the same email as typed twice)."""
    return (PersonFactory(email=f"p{n}@example.com", **extra),
            PersonFactory(email=f" P{n}@Example.com", user_id=None, **extra))


def live_of(person: Person) -> Person:
    person.refresh_from_db()
    return Person.objects.get(pk=person.merged_into_id or person.pk)


def _age(person: Person, segment, days: int) -> None:
    at = timezone.now() - dt.timedelta(days=days)
    SegmentMembership.objects.filter(person=person, segment=segment).update(
        entered_at=at, own_entered_at=at)


def test_union_keeps_the_earliest_entry_and_enters_nobody_again():
    groups = [pair(n) for n in range(3)]
    for _, other in groups:  # only the second profile bought
        activity(other, ActivityKind.PURCHASE)
    buyers = create_segment(name="Buyers", definition={"kind": "purchase"})
    for n, (_, other) in enumerate(groups):
        _age(other, buyers, 10 + n)
    kept = {other.pk: SegmentMembership.objects.get(person=other).entered_at
            for _, other in groups}
    entered, before = len(moves(ActivityKind.SEGMENT_ENTERED)), state()

    run = run_dedup()

    assert run.status == "succeeded" and MergeRecord.objects.count() == 3
    for base, other in groups:
        live = live_of(base)
        row = SegmentMembership.objects.get(person=live, segment=buyers)
        assert row.entered_at == kept[other.pk]  # the union, from the earliest entry
    # no re-entry (the entries recorded before moved with the activities)
    assert len(moves(ActivityKind.SEGMENT_ENTERED)) == entered
    assert moves(ActivityKind.SEGMENT_LEFT) == []
    for record in MergeRecord.objects.order_by("-pk"):
        undo_merge(record=record)
    assert state() == before


def test_combined_counts_enter_and_leave_once_and_undo_is_exact():
    loyal_pairs = [pair(n) for n in range(2)]
    light_pairs = [pair(10 + n, page_views=2) for n in range(2)]
    for person in [p for group in loyal_pairs for p in group]:
        activity(person, ActivityKind.PURCHASE)
        activity(person, ActivityKind.PURCHASE)
    loyal = create_segment(name="Loyal", definition={
        "kind": "purchase", "count": {"op": "gte", "value": 3}})
    light = create_segment(name="Light readers", definition={
        "all": [{"field": "page_views", "op": "lt", "value": 3},
                {"field": "page_views", "op": "gt", "value": 0}]})
    before = state()
    assert {row[0] for row in before} == {light.pk}

    run_dedup()

    loyal_bases = sorted(live_of(base).pk for base, _ in loyal_pairs)
    light_bases = sorted(live_of(base).pk for base, _ in light_pairs)
    assert sorted(SegmentMembership.objects.filter(segment=loyal)
                  .values_list("person_id", flat=True)) == loyal_bases
    assert [m for m in moves(ActivityKind.SEGMENT_ENTERED) if m[1] == "Loyal"] == [
        (pk, "Loyal") for pk in loyal_bases]  # entered once each
    # 4 page views together: each base left once, its row kept for undo
    assert moves(ActivityKind.SEGMENT_LEFT) == [(pk, "Light readers") for pk in light_bases]
    assert all(left["merge"] and left["row"]["entered_at"] for left in Activity.objects.filter(
        kind=ActivityKind.SEGMENT_LEFT).values_list("properties", flat=True))
    assert not SegmentMembership.objects.filter(
        segment=light, person__merged_into__isnull=True).exists()
    for record in MergeRecord.objects.order_by("-pk"):
        undo_merge(record=record)
    assert state() == before


def test_a_chunk_is_reevaluated_with_one_query_per_segment_whatever_its_size():
    create_segment(name="Buyers", definition={"kind": "purchase"})
    create_segment(name="Parisians", definition={"field": "city", "op": "eq", "value": "Paris"})

    def queries_for(groups: int) -> int:
        MergeRecord.objects.all().delete()
        people = [pair(100 * groups + n, city="Paris") for n in range(groups)]
        for _, other in people:
            activity(other, ActivityKind.PURCHASE)
        run_dedup()
        records = list(MergeRecord.objects.all())
        assert len(records) == groups
        with CaptureQueriesContext(connection) as captured:
            merges.after_merge(records)
        return len(captured.captured_queries)

    assert queries_for(2) == queries_for(6)
