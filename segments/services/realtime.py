"""Real time: every change to a person re-evaluates, in the same transaction, the segments
whose definition reads what changed (docs/segments.md, "Real time").

Registered in `SegmentsConfig.ready()` with the recording path (track, batch, identify, chat)
and staff edits; merges and undo are merges.py's.
"""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from profiles.models import Activity, Person
from segments.services.compiler import PersonFacts
from segments.services.index import Index, cached, current_version, index
from segments.services.membership import record_changes
from segments.services.probe import probe


def on_people_changed(changed: list[tuple[Person, set[str], list[Activity]]]) -> None:
    """The recording path's and staff edits' hook: re-evaluate, for each changed person
    (with the fields that changed and the activities just recorded), the segments reading
    what changed — one query in all (probe.py) when there are any, one tiny
    version check when there are none."""
    live = [entry for entry in changed if entry[0].merged_into_id is None]
    if live:
        _evaluate(live, cached(), retry=True)


def _evaluate(changed: list[tuple[Person, set[str], list[Activity]]], current: Index,
              retry: bool) -> None:
    now = timezone.now()
    work = []
    for person, fields, recorded in changed:
        affected = current.affected(fields, recorded, now)
        if affected:
            work.append((person, affected))
    if not work:
        version = current_version()
        if retry and version != current.version:  # a segment changed elsewhere: look again
            _evaluate(changed, index(version), retry=False)
        return
    involved = {w.segment.pk: w for _, affected in work for w in affected}
    found = probe(person_ids=sorted({person.pk for person, _ in work}),
                  watched=[involved[pk] for pk in sorted(involved)],
                  version=current.version, now=now)
    if retry and found.version != current.version:
        _evaluate(changed, index(found.version), retry=False)
        return
    entered: dict[int, list[int]] = defaultdict(list)
    left: dict[int, list[int]] = defaultdict(list)
    for person, affected in work:  # live people (on_people_changed)
        facts = PersonFacts(person, known=found.known[person.pk])
        inside = found.members[person.pk]
        for w in affected:
            member = w.segment.pk in inside
            if w.check(person, facts, now) != member:
                (left if member else entered)[w.segment.pk].append(person.pk)
    for pk in sorted({*entered, *left}):
        record_changes(involved[pk].segment, entered=sorted(entered[pk]),
                       left=sorted(left[pk]), at=now)
