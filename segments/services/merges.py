"""Segments after a merge and after an undo, set-based: one `merge_many` call (a staff merge,
an identify, or a whole dedup chunk) re-evaluates all its bases with one query per segment
(the compiled SQL restricted to those people), then writes each segment's changes in bulk
(docs/segments.md, "Merges and undo").

Rules kept here: a base keeps the earliest `entered_at` (`settle_entered_at`); a segment the
base or a merged profile was in already has a row on the base (the relation registry moved
or parked it), so it is never entered again; a row the re-evaluation removes is kept in its
`segment_left` activity with the merge, so undo puts it back exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from profiles.models import MergeRecord
from segments.models import Segment, SegmentMembership
from segments.services.compiler import compile_node
from segments.services.definition import DefinitionError, parse_definition
from segments.services.index import index
from segments.services.membership import (
    matching_people,
    record_changes,
    restore_left_on_undo,
    settle_entered_at,
)


def reevaluate(*, person_ids: Sequence[int], segments: Sequence[Segment],
               now: dt.datetime | None = None, merges: dict[int, int] | None = None) -> None:
    """Make these live, locked people's memberships of these segments what the definitions
    say now: per segment, one query for who of them matches, one write for who entered and
    who left. `merges`: person -> the merge whose base it is (a removed row is journaled)."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    now = now or timezone.now()
    rules = []
    for segment in segments:
        if not segment.enabled:
            continue
        try:
            rules.append((segment, compile_node(parse_definition(segment.definition), now)))
        except DefinitionError:  # written past the services: not evaluated (index.py says so)
            continue
    if not rules:
        return
    current: dict[int, dict[int, SegmentMembership]] = {}
    for row in SegmentMembership.objects.filter(
            person_id__in=ids, segment__in=[s for s, _ in rules],
            person__merged_into__isnull=True):
        current.setdefault(row.segment_id, {})[row.person_id] = row
    for segment, rule in rules:
        inside = current.get(segment.pk, {})
        matching = set(matching_people(rule).filter(pk__in=ids).values_list("pk", flat=True))
        left = sorted(set(inside) - matching)
        journal = {pk: _kept(inside[pk], merges[pk]) for pk in left if merges and pk in merges}
        record_changes(segment, entered=sorted(matching - set(inside)), left=left, at=now,
                       journal=journal)


def _kept(row: SegmentMembership, merge: int) -> dict[str, Any]:
    return {"merge": merge, "row": {
        "original_person": row.original_person_id,
        "entered_at": row.entered_at.isoformat(),
        "own_entered_at": row.own_entered_at.isoformat()}}


def _enabled() -> list[Segment]:
    return [w.segment for w in index().watched]


def after_merge(records: list[MergeRecord]) -> None:
    """After `merge_many` (one merge, or a dedup chunk's): each base keeps the earliest entry
    of each segment, then every base is re-evaluated against every enabled segment at once."""
    current = index()
    if current.version == "":  # no segment at all (the version just read): no membership
        return
    bases = sorted({record.base_id for record in records})
    settle_entered_at(person_ids=bases)
    reevaluate(person_ids=bases, segments=[w.segment for w in current.watched],
               merges={record.base_id: record.pk for record in records})


def after_undo(record: MergeRecord) -> None:
    """Put back the memberships the merge's re-evaluation removed, recompute each participant's
    entry times, then re-evaluate them (the base may leave what only the merge gave it)."""
    participants = [record.base_id, *record.merged_ids]
    restore_left_on_undo(record=record)
    settle_entered_at(person_ids=participants)
    reevaluate(person_ids=participants, segments=_enabled())
