"""Real time: every change to a person re-evaluates, in the same transaction, the segments
whose definition reads what changed (docs/segments.md, "Real time").

Registered in `SegmentsConfig.ready()` with the recording path (track, batch, identify, chat)
and staff edits; merges and undo are merges.py's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from profiles.models import Activity, Person
from segments.services.checks import PersonFacts
from segments.services.index import Index, Watched, cached, current_version, index
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
    work = [(person, todo) for person, fields, recorded in changed
            if (todo := _to_evaluate(current, person, fields, recorded, now))]
    if not work:
        version = current_version()
        if retry and version != current.version:  # a segment changed elsewhere: look again
            _evaluate(changed, index(version), retry=False)
        return
    # Behaviour and tags conditions are read only for the segments the row leaves open.
    open_ = {w.segment.pk: w for _, todo in work for w, answer in todo if answer is None}
    found = probe(person_ids=sorted({person.pk for person, _ in work}),
                  watched=[open_[pk] for pk in sorted(open_)],
                  version=current.version, now=now)
    if retry and found.version != current.version:
        _evaluate(changed, index(found.version), retry=False)
        return
    segments = {w.segment.pk: w.segment for _, todo in work for w, _ in todo}
    entered: dict[int, list[int]] = defaultdict(list)
    left: dict[int, list[int]] = defaultdict(list)
    for person, todo in work:  # live people (on_people_changed)
        facts = PersonFacts(person, known=found.known[person.pk])
        inside = found.members[person.pk]
        for w, answer in todo:
            if answer is None:
                answer = w.check(person, facts, now)
            member = w.segment.pk in inside
            if answer != member:
                (left if member else entered)[w.segment.pk].append(person.pk)
    for pk in sorted({*entered, *left}):
        record_changes(segments[pk], entered=sorted(entered[pk]), left=sorted(left[pk]), at=now)


def _to_evaluate(current: Index, person: Person, fields: set[str], recorded: list[Activity],
                 now: dt.datetime) -> list[tuple[Watched, bool | None]]:
    """The segments to evaluate for one changed person, each with what the person's row
    decides of it (None: it depends on behaviour or tags, which the probe reads). A segment
    affected only by what was recorded (it reads no changed field) whose answer the row
    decides still has the answer it had: the row did not change for it."""
    reading, counting = current.affected(fields, recorded, now)
    todo = [(w, w.decide(person, now)) for w in reading]
    for w in counting:
        if (answer := w.decide(person, now)) is None:
            todo.append((w, answer))
    return todo
