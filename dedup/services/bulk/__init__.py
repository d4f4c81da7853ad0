"""Set-based chunk merge: what `merge_people` does for each group, in a few statements."""

from __future__ import annotations

from django.utils import timezone

from dedup.models import DedupRun
from dedup.services import groups as g
from dedup.services.bulk import foreign_keys
from dedup.services.bulk.moves import GroupMoves, move_chunk_rows
from dedup.services.bulk.people import (
    add_merged_activities,
    create_records,
    write_bases,
    write_tombstones,
)
from dedup.services.chunks import ChunkOutcome
from profiles.models import Person
from profiles.services.merging.fields import plan_fields
from profiles.services.merging.state import snapshot_person

__all__ = ["GroupMoves", "merge_chunk"]


def merge_chunk(*, run: DedupRun, groups: list[tuple[str, list[Person]]]) -> ChunkOutcome:
    """Merge every group of a chunk whose people are locked (`group_members(lock=True)`)."""
    outcome = ChunkOutcome()
    mergeable = []
    for email, people in groups:
        group = g.split(email, people)
        if group is None:
            outcome.conflicts.append(g.conflict_row(run, email, people))
            outcome.report.append(g.conflict_entry(email, people))
        else:
            mergeable.append(group)
    if not mergeable:
        return outcome
    now = timezone.now()
    decisions = [plan_fields(base=gr.base, others=gr.others, now=now) for gr in mergeable]
    snapshots = [
        {str(p.pk): snapshot_person(p) for p in (gr.base, *gr.others)} for gr in mergeable
    ]
    checks_skipped = foreign_keys.skip_row_checks(run_id=run.pk, actor_id=run.actor_id)
    moved = move_chunk_rows(mergeable)
    records = create_records(
        groups=mergeable, decisions=decisions, snapshots=snapshots, moved=moved, run=run,
        now=now,
    )
    write_tombstones(groups=mergeable, records=records, run=run, now=now)
    write_bases(groups=mergeable, decisions=decisions, records=records, run=run, now=now)
    add_merged_activities(groups=mergeable, records=records, run=run, now=now)
    if checks_skipped:
        foreign_keys.check_bases_and_restore(gr.base.pk for gr in mergeable)
    for group, record, moves in zip(mergeable, records, moved, strict=True):
        outcome.report.append(g.merge_entry(group, outcome="merged", record_id=record.pk))
        outcome.rows_moved += _total(moves)
    outcome.groups_merged = len(mergeable)
    outcome.people_merged = sum(len(gr.others) for gr in mergeable)
    _keep_report_order(outcome)
    return outcome


def _total(moves: dict) -> int:
    return sum(sum(per_person.values()) for per_person in moves.get("counts", {}).values())


def _keep_report_order(outcome: ChunkOutcome) -> None:
    outcome.report.sort(key=lambda entry: entry["email"])
