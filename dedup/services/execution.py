"""A chunk's groups through the merge engine: one `merge_many` call per chunk (a dry run asks
the engine for the same plan and writes nothing)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dedup.models import DedupConflict, DedupRun
from dedup.services import groups as g
from profiles.models import MergeReason, MergeRecord, Person
from profiles.services.merging import MergeRefused, merge_many, plan_merges

logger = logging.getLogger(__name__)


@dataclass
class ChunkOutcome:
    groups_merged: int = 0
    people_merged: int = 0
    rows_moved: int = 0
    report: list[dict] = field(default_factory=list)
    conflicts: list[DedupConflict] = field(default_factory=list)


def apply_chunk(*, run: DedupRun, groups: list[tuple[str, list[Person]]]) -> ChunkOutcome:
    """Merge (or, for a dry run, plan) every group of a chunk; conflicts and refusals are
    reported, never raised: one bad group does not fail the chunk. For a real run, `groups`
    hold rows this transaction read `FOR UPDATE` in id order (detection.group_members)."""
    outcome = ChunkOutcome()
    mergeable = []
    for email, people in groups:
        group = g.split(email, people)
        if group is None:
            outcome.conflicts.append(g.conflict_row(run, email, people))
            outcome.report.append(g.conflict_entry(email, people))
        else:
            mergeable.append(group)
    results = _merge_each_alone_if_needed(run, [(group.base, group.others) for group in mergeable])
    for group, result in zip(mergeable, results, strict=True):
        outcome.report.append(_entry(group, result, dry_run=run.dry_run))
        if isinstance(result, MergeRefused):
            continue
        outcome.groups_merged += 1
        outcome.people_merged += len(group.others)
        if isinstance(result, MergeRecord):
            outcome.rows_moved += rows_moved(result)
    outcome.report.sort(key=lambda entry: entry["email"])
    return outcome


def _engine(run: DedupRun, pairs: list) -> list:  # noqa: ANN001
    if run.dry_run:
        return plan_merges(pairs)
    # The chunk's people were read FOR UPDATE, in id order, by this transaction
    # (detection.group_members): the engine plans from those rows instead of reading them again.
    return merge_many(pairs, actor=run.actor, reason=MergeReason.DEDUP, dedup_run=run,
                      locked=True)


def _merge_each_alone_if_needed(run: DedupRun, pairs: list) -> list:
    """The chunk's groups in one engine call; if that fails with something the engine does not
    turn into a refusal itself (a bug, a value it cannot read), each group goes alone, and a
    group that still fails is reported as refused with the error: one bad group never fails
    the run. The engine rolled its savepoint back, so nothing of the failed call was written."""
    try:
        return _engine(run, pairs)
    except Exception:
        logger.exception("dedup run #%s: a chunk's merge failed; merging its groups one by one",
                         run.pk)
    results = []
    for pair in pairs:
        try:
            results.extend(_engine(run, [pair]))
        except Exception as exc:
            logger.exception("dedup run #%s: the group of person #%s failed", run.pk,
                             pair[0].pk)
            results.append(MergeRefused(
                "This group could not be merged (%(error)s); nothing of it was changed.",
                code="failed", params={"error": f"{type(exc).__name__}: {exc}"}))
    return results


def _entry(group: g.Group, result, *, dry_run: bool) -> dict:  # noqa: ANN001
    if isinstance(result, MergeRefused):
        entry = g.merge_entry(group, outcome="refused")
        entry["error"] = "; ".join(result.messages)
    elif dry_run:
        entry = g.merge_entry(group, outcome="would merge")
        entry["winners"] = g.winners(result)
    else:
        entry = g.merge_entry(group, outcome="merged", record_id=result.pk)
    return entry


def rows_moved(record: MergeRecord) -> int:
    """Total rows the merge moved, from the journal's per-table, per-person counts."""
    counts = (record.moved or {}).get("counts", {})
    return sum(sum(per_person.values()) for per_person in counts.values())
