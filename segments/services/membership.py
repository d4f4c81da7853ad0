"""Membership writes: the rows and activities of people entering and leaving, and per-person
re-evaluation (rebuilds, in chunks: segments/services/rebuild.py).

Entering and leaving are recorded as `segment_entered` / `segment_left` activities (source
`system`) next to the membership rows, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import F, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce, Least
from django.utils.dateparse import parse_datetime

from profiles.models import Activity, ActivityKind, ActivitySource, MergeRecord, Person
from profiles.services.schema import table
from profiles.services.sql import execute
from segments.models import Segment, SegmentMembership
from segments.services.compiler import Compiled, compile_node
from segments.services.definition import parse_definition

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


def _write_activities(segment: Segment, kind: str, people: Sequence[int],
                      at: dt.datetime) -> None:
    """One `kind` activity for each of these people, alike but for the person: on PostgreSQL
    one INSERT … SELECT FROM unnest (a rebuild writes tens of thousands at once)."""
    if not people:
        return
    if connection.vendor != "postgresql":
        Activity.objects.bulk_create([_activity(segment, pk, kind, at) for pk in people],
                                     batch_size=WRITE_CHUNK)
        return
    sample = _activity(segment, 0, kind, at)
    execute(f"INSERT INTO {table(Activity)} (person_id, original_person_id, kind, occurred_at, "
            "recorded_at, source, properties) SELECT p, p, %s, %s, %s, %s, %s::jsonb "
            "FROM unnest(%s::bigint[]) AS p",
            [kind, at, at, sample.source, json.dumps(sample.properties), list(people)])


def record_changes(segment: Segment, *, entered: Sequence[int], left: Sequence[int],
                   at: dt.datetime,
                   journal: dict[int, dict[str, Any]] | None = None) -> tuple[int, int]:
    """Write the membership rows and the entered/left activities for these people; returns
    how many entered and left.

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
    _write_activities(segment, ActivityKind.SEGMENT_ENTERED, came, at)
    _write_activities(segment, ActivityKind.SEGMENT_LEFT,
                      [pk for pk in gone if pk not in journal], at)
    kept = [_activity(segment, pk, ActivityKind.SEGMENT_LEFT, at, **journal[pk])
            for pk in gone if pk in journal]
    if kept:
        Activity.objects.bulk_create(kept)
    return len(came), len(gone)


def ids_sql(ids: Sequence[int]) -> tuple[str, list[Any]]:
    """"IN these ids" for a column: one array parameter on PostgreSQL (a batch holds thousands
    of ids; as thousands of parameters they cost building, parsing and planning)."""
    if connection.vendor == "postgresql":
        return "= ANY(%s::bigint[])", [list(ids)]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _delete(segment_id: int, people: Sequence[int]) -> list[int]:
    condition, params = ids_sql(people)
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
