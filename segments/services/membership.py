"""Membership writes: set-based rebuilds and per-person re-evaluation.

Entering and leaving are recorded as `segment_entered` / `segment_left` activities (source
`system`) next to the membership rows, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from profiles.models import Activity, ActivityKind, ActivitySource, Person
from segments.models import Segment, SegmentMembership
from segments.services.compiler import Compiled, PersonFacts, compile_node
from segments.services.definition import parse_definition

WRITE_CHUNK = 5000


def compiled(segment: Segment, now: dt.datetime | None = None) -> Compiled:
    return compile_node(parse_definition(segment.definition), now)


def matching_people(segment_or_compiled: Segment | Compiled):  # -> QuerySet[Person]
    rule = (segment_or_compiled if isinstance(segment_or_compiled, Compiled)
            else compiled(segment_or_compiled))
    return Person.objects.filter(merged_into__isnull=True).filter(rule.q())


def _activity(segment: Segment, person_id: int, kind: str, at: dt.datetime) -> Activity:
    return Activity(
        person_id=person_id, original_person_id=person_id, kind=kind, occurred_at=at,
        recorded_at=at, source=ActivitySource.SYSTEM,
        properties={"segment": segment.name, "segment_id": segment.pk},
    )


def record_changes(segment: Segment, *, entered: Sequence[int], left: Sequence[int],
                   at: dt.datetime) -> None:
    """Write the membership rows and the entered/left activities for these people."""
    if left:
        for start in range(0, len(left), WRITE_CHUNK):
            SegmentMembership.objects.filter(
                segment=segment, person_id__in=left[start:start + WRITE_CHUNK]).delete()
    if entered:
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=segment, person_id=pk, original_person_id=pk,
                               entered_at=at) for pk in entered],
            batch_size=WRITE_CHUNK,
        )
    activities = [_activity(segment, pk, ActivityKind.SEGMENT_ENTERED, at) for pk in entered]
    activities += [_activity(segment, pk, ActivityKind.SEGMENT_LEFT, at) for pk in left]
    if activities:
        Activity.objects.bulk_create(activities, batch_size=WRITE_CHUNK)


def rebuild_segment(*, segment: Segment) -> tuple[int, int]:
    """Make the segment's members exactly the live people its definition matches, set-based:
    who entered and who left are each one query. Returns (entered, left).
    A disabled segment has no members."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        now = timezone.now()
        members = SegmentMembership.objects.filter(segment=segment)
        if segment.enabled:
            matching = matching_people(compiled(segment, now))
            entered = list(
                matching.exclude(Exists(members.filter(person=OuterRef("pk"))))
                .order_by("pk").values_list("pk", flat=True))
            left = list(
                members.exclude(person__in=matching.values("pk"))
                .order_by("person_id").values_list("person_id", flat=True))
        else:
            entered, left = [], list(members.values_list("person_id", flat=True))
        record_changes(segment, entered=entered, left=left, at=now)
        segment.last_rebuilt_at = now
        segment.member_count = members.count()
        segment.save(update_fields=["last_rebuilt_at", "member_count"])
    return len(entered), len(left)


def evaluate_people(*, people: Iterable[Person], segments: Sequence[Segment],
                    now: dt.datetime | None = None) -> None:
    """Re-evaluate live, locked people against these segments with the per-person check,
    entering and leaving them (the caller's transaction: true when the call returns)."""
    people = [person for person in people if person.merged_into_id is None]
    if not people or not segments:
        return
    now = now or timezone.now()
    rules = [(segment, compiled(segment, now)) for segment in segments if segment.enabled]
    current = set(
        SegmentMembership.objects.filter(
            person_id__in=[p.pk for p in people], segment__in=[s for s, _ in rules])
        .values_list("segment_id", "person_id"))
    for person in people:
        facts = PersonFacts(person)
        for segment, rule in rules:
            inside = (segment.pk, person.pk) in current
            if rule.matches(person, facts) != inside:
                record_changes(segment, entered=[] if inside else [person.pk],
                               left=[person.pk] if inside else [], at=now)
