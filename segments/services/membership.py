"""Membership writes: set-based rebuilds and per-person re-evaluation.

Entering and leaving are recorded as `segment_entered` / `segment_left` activities (source
`system`) next to the membership rows, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from profiles.models import Activity, ActivityKind, ActivitySource, MergeRecord, Person
from profiles.services.schema import table
from profiles.services.sql import execute
from segments.models import Segment, SegmentMembership
from segments.services.compiler import Compiled, compile_node
from segments.services.definition import parse_definition, reads

WRITE_CHUNK = 5000


def compiled(segment: Segment, now: dt.datetime | None = None) -> Compiled:
    return compile_node(parse_definition(segment.definition), now)


def matching_people(segment_or_compiled: Segment | Compiled):  # -> QuerySet[Person]
    rule = (segment_or_compiled if isinstance(segment_or_compiled, Compiled)
            else compiled(segment_or_compiled))
    return Person.objects.filter(merged_into__isnull=True).filter(rule.q())


def live_members(segment: Segment):  # -> QuerySet[SegmentMembership]
    """The memberships of live people (rows parked on merged profiles are not members)."""
    return SegmentMembership.objects.filter(segment=segment, person__merged_into__isnull=True)


def _activity(segment: Segment, person_id: int, kind: str, at: dt.datetime,
              **extra: Any) -> Activity:
    return Activity(
        person_id=person_id, original_person_id=person_id, kind=kind, occurred_at=at,
        recorded_at=at, source=ActivitySource.SYSTEM,
        properties={"segment": segment.name, "segment_id": segment.pk, **extra},
    )


def record_changes(segment: Segment, *, entered: Sequence[int], left: Sequence[int],
                   at: dt.datetime, journal: dict[int, dict[str, Any]] | None = None) -> None:
    """Write the membership rows and the entered/left activities for these people.

    Only rows actually inserted or deleted get an activity (ON CONFLICT DO NOTHING and
    RETURNING): a rebuild and a real-time evaluation that meet on one person record the
    change once. `journal`: person -> what its `segment_left` activity keeps (a merge's
    re-evaluation keeps the removed row, so undo can put it back)."""
    gone, came = [], []
    for start in range(0, len(left), WRITE_CHUNK):
        gone += _delete(segment.pk, left[start:start + WRITE_CHUNK])
    for start in range(0, len(entered), WRITE_CHUNK):
        came += _insert(segment.pk, entered[start:start + WRITE_CHUNK], at)
    journal = journal or {}
    activities = [_activity(segment, pk, ActivityKind.SEGMENT_ENTERED, at) for pk in came]
    activities += [_activity(segment, pk, ActivityKind.SEGMENT_LEFT, at, **journal.get(pk, {}))
                   for pk in gone]
    if activities:
        Activity.objects.bulk_create(activities, batch_size=WRITE_CHUNK)


def _ids_sql(ids: Sequence[int]) -> tuple[str, list[Any]]:
    if connection.vendor == "postgresql":
        return "= ANY(%s::bigint[])", [list(ids)]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _delete(segment_id: int, people: Sequence[int]) -> list[int]:
    condition, params = _ids_sql(people)
    rows = execute(f"DELETE FROM {table(SegmentMembership)} WHERE segment_id = %s "
                   f"AND person_id {condition} RETURNING person_id", [segment_id, *params])
    return sorted(pk for (pk,) in rows)


def _insert(segment_id: int, people: Sequence[int], at: dt.datetime) -> list[int]:
    columns = "(segment_id, person_id, original_person_id, entered_at, own_entered_at)"
    conflict = "ON CONFLICT (segment_id, person_id) DO NOTHING RETURNING person_id"
    if connection.vendor == "postgresql":
        sql = (f"INSERT INTO {table(SegmentMembership)} {columns} SELECT %s, p, p, %s, %s "
               f"FROM unnest(%s::bigint[]) AS p {conflict}")
        rows = execute(sql, [segment_id, at, at, list(people)])
    else:
        stamp = connection.ops.adapt_datetimefield_value(at)
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(people))
        params = [value for pk in people for value in (segment_id, pk, pk, stamp, stamp)]
        rows = execute(f"INSERT INTO {table(SegmentMembership)} {columns} VALUES {values} "
                       f"{conflict}", params)
    return sorted(pk for (pk,) in rows)


def rebuild_segment(*, segment: Segment) -> tuple[int, int]:
    """Make the segment's members exactly the live people its definition matches, set-based:
    who may have entered and who may have left are one query each; then those people are
    locked (id order, as every writer locks a person) and checked again, so an event recorded
    for one of them meanwhile is not undone by a rebuild that read before it. Returns
    (entered, left). A disabled segment has no members."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        now = timezone.now()
        members = live_members(segment)
        rule = compiled(segment, now) if segment.enabled else None
        if rule is not None:
            matching = matching_people(rule)
            entering = matching.exclude(Exists(SegmentMembership.objects.filter(
                segment=segment, person=OuterRef("pk")))).values_list("pk", flat=True)
            leaving = members.exclude(person__in=matching.values("pk")) \
                .values_list("person_id", flat=True)
            candidates = sorted({*entering, *leaving})
        else:
            candidates = sorted(members.values_list("person_id", flat=True))
        entered, left = 0, 0
        for start in range(0, len(candidates), WRITE_CHUNK):
            chunk = candidates[start:start + WRITE_CHUNK]
            list(Person.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
                 .values_list("pk", flat=True))
            inside = set(members.filter(person_id__in=chunk).values_list("person_id", flat=True))
            match = set() if rule is None else set(
                matching_people(rule).filter(pk__in=chunk).values_list("pk", flat=True))
            record_changes(segment, entered=sorted(match - inside),
                           left=sorted(inside - match), at=now)
            entered, left = entered + len(match - inside), left + len(inside - match)
        segment.last_rebuilt_at = now
        segment.member_count = members.count()
        segment.save(update_fields=["last_rebuilt_at", "member_count"])
    return entered, left


def evaluate_people(*, people: Iterable[Person], segments: Sequence[Segment],
                    now: dt.datetime | None = None, merge: int | None = None) -> None:
    """Re-evaluate live, locked people against these segments, set-based (one query per
    segment for all of them: `merges.reevaluate`), entering and leaving them in the caller's
    transaction. `merge`: the merge whose base they are; a row it removes is kept."""
    from segments.services.merges import reevaluate  # it builds on this module

    live = [person.pk for person in people if person.merged_into_id is None]
    reevaluate(person_ids=live, segments=segments, now=now,
               merges=None if merge is None else dict.fromkeys(live, merge))


def settle_entered_at(*, person_ids: Sequence[int]) -> None:
    """Each membership of these people counts from the earliest of its own entry and the
    entries of the same segment parked on profiles merged into the person."""
    parked = (SegmentMembership.objects
              .filter(segment=OuterRef("segment"), person__merged_into=OuterRef("person"))
              .order_by().values("segment").annotate(first=Min("entered_at")).values("first"))
    SegmentMembership.objects.filter(person_id__in=list(person_ids)).update(
        entered_at=Least(F("own_entered_at"),
                         Coalesce(Subquery(parked), F("own_entered_at"))))


def restore_left_on_undo(*, record: MergeRecord) -> None:
    """Put back the memberships the merge's re-evaluation removed from its base, each on the
    profile it was recorded for (the base, or a profile the undo restored)."""
    left = Activity.objects.filter(person_id=record.base_id, kind=ActivityKind.SEGMENT_LEFT,
                                   properties__merge=record.pk)
    for properties in left.values_list("properties", flat=True):
        row = properties.get("row") or {}
        original = row.get("original_person")
        owner = original if original in record.merged_ids else record.base_id
        segment_id = properties.get("segment_id")
        if not Segment.objects.filter(pk=segment_id).exists() or \
                SegmentMembership.objects.filter(segment_id=segment_id, person_id=owner).exists():
            continue
        SegmentMembership.objects.create(
            segment_id=segment_id, person_id=owner, original_person_id=original or owner,
            entered_at=parse_datetime(row["entered_at"]),
            own_entered_at=parse_datetime(row["own_entered_at"]))


def refresh_time_windows() -> dict[int, tuple[int, int]]:
    """Rebuild every enabled segment whose rule depends on the clock (`within_days`,
    `older_than_days`): people enter or leave as a window passes, with no event. Each rebuild
    is set-based and writes only for the people who changed. Returns segment -> (entered, left).
    """
    done = {}
    for segment in Segment.objects.filter(enabled=True).order_by("pk"):
        try:
            timed = reads(parse_definition(segment.definition))[2]
        except ValidationError:
            continue
        if timed:
            done[segment.pk] = rebuild_segment(segment=segment)
    return done
