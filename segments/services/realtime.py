"""Real time: every change to a person re-evaluates, in the same transaction, the segments
whose definition reads what changed (docs/segments.md, "Real time").

Registered in `SegmentsConfig.ready()` with the recording path (track, batch, identify, chat),
staff edits, and the merge engine (merge, undo).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max
from django.utils import timezone

from profiles.models import MergeRecord, Person
from segments.models import Segment
from segments.services.definition import DefinitionError, parse_definition, reads
from segments.services.membership import (
    evaluate_people,
    restore_left_on_undo,
    settle_entered_at,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Watched:
    """An enabled segment with what its definition reads."""

    segment: Segment
    fields: frozenset[str]
    kinds: frozenset[str]

    def affected_by(self, fields: set[str], kinds: set[str]) -> bool:
        return bool(self.fields & fields or self.kinds & kinds)


_index: dict[str, object] = {"version": None, "watched": []}


def watched_segments() -> list[Watched]:
    """The index of enabled segments by what they read, rebuilt when any segment changed
    (one small aggregate query decides: the index is per process)."""
    version = tuple(Segment.objects.aggregate(
        n=Count("pk"), top=Max("pk"), latest=Max("updated_at")).values())
    if version != _index["version"]:
        watched = []
        for segment in Segment.objects.filter(enabled=True):
            try:
                fields, kinds, _ = reads(parse_definition(segment.definition))
            except DefinitionError:  # written past the services (a raw edit): skipped, said
                logger.warning("segment %s has an invalid definition; not evaluated", segment.pk)
                continue
            watched.append(Watched(segment, fields, kinds))
        _index.update(version=version, watched=watched)
    return _index["watched"]  # type: ignore[return-value]


def on_people_changed(changed: list[tuple[Person, set[str], set[str]]]) -> None:
    """The recording path's and staff edits' hook: re-evaluate what these changes can affect."""
    watched = watched_segments()
    if not watched:
        return
    now = timezone.now()
    for person, fields, kinds in changed:
        segments = [w.segment for w in watched if w.affected_by(fields, kinds)]
        if segments:
            evaluate_people(people=[person], segments=segments, now=now)


def _all_segments() -> list[Segment]:
    return [w.segment for w in watched_segments()]


def after_merge(records: list[MergeRecord]) -> None:
    """Memberships moved with the merge (the relation registry). The base keeps the earliest
    entry of each segment and is re-evaluated against every segment: combined counts may make
    it enter or leave, recorded once; a segment it or a merged profile was in is no entry."""
    segments = _all_segments()
    if _index["version"][0] == 0:  # no segment at all (counted just now): nothing to settle
        return
    base_ids = sorted({record.base_id for record in records})
    settle_entered_at(person_ids=base_ids)
    if not segments:
        return  # nothing to evaluate: the bases are not read (a dedup chunk has ~1,000)
    bases = list(Person.objects.filter(pk__in=base_ids).order_by("pk"))
    merge_of = {record.base_id: record.pk for record in records}
    for base in bases:
        evaluate_people(people=[base], segments=segments, merge=merge_of[base.pk])


def after_undo(record: MergeRecord) -> None:
    """Put back the memberships the merge's re-evaluation removed, recompute each participant's
    entry times, then re-evaluate them (the base may leave what only the merge gave it)."""
    participants = [record.base_id, *record.merged_ids]
    restore_left_on_undo(record=record)
    settle_entered_at(person_ids=participants)
    segments = _all_segments()
    if segments:
        people: Iterable[Person] = Person.objects.filter(pk__in=participants).order_by("pk")
        evaluate_people(people=people, segments=segments)
