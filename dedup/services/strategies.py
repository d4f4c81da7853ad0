"""How a chunk's groups are applied: previewed (dry run), merged one by one, or in bulk.

`merge_groups_one_by_one` calls the merge engine's `merge_people` for each group: it is the
definition of a correct result. `merge_groups_in_bulk` (dedup.services.bulk) produces the same
rows with a few set-based statements per chunk; a property test holds them equal.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from dedup.models import DedupRun
from dedup.services import groups as g
from dedup.services.chunks import ChunkOutcome
from profiles.models import MergeReason, MergeRecord, Person
from profiles.services.merging.errors import MergeRefused
from profiles.services.merging.fields import plan_fields

logger = logging.getLogger(__name__)

Groups = list[tuple[str, list[Person]]]


def preview_groups(*, run: DedupRun, groups: Groups) -> ChunkOutcome:
    """Exactly what a real run would do, field by field; writes nothing to people."""
    outcome = ChunkOutcome()
    now = timezone.now()
    for email, people in groups:
        group = g.split(email, people)
        if group is None:
            outcome.conflicts.append(g.conflict_row(run, email, people))
            outcome.report.append(g.conflict_entry(email, people))
            continue
        entry = g.merge_entry(group, outcome="would merge")
        entry["winners"] = g.winners(plan_fields(base=group.base, others=group.others, now=now))
        outcome.report.append(entry)
        outcome.groups_merged += 1
        outcome.people_merged += len(group.others)
    return outcome


def merge_groups_one_by_one(*, run: DedupRun, groups: Groups) -> ChunkOutcome:
    """Each group through `merge_people` (a savepoint each, inside the chunk transaction)."""
    from profiles.services.merging import merge_people

    outcome = ChunkOutcome()
    for email, people in groups:
        group = g.split(email, people)
        if group is None:
            outcome.conflicts.append(g.conflict_row(run, email, people))
            outcome.report.append(g.conflict_entry(email, people))
            continue
        try:
            record = merge_people(
                base=group.base, others=group.others, actor=run.actor, reason=MergeReason.DEDUP,
                dedup_run=run,
            )
        except MergeRefused as exc:
            entry = g.merge_entry(group, outcome="refused")
            entry["error"] = "; ".join(exc.messages)
            outcome.report.append(entry)
            continue
        outcome.report.append(g.merge_entry(group, outcome="merged", record_id=record.pk))
        outcome.groups_merged += 1
        outcome.people_merged += len(group.others)
        outcome.rows_moved += rows_moved(record)
    return outcome


def rows_moved(record: MergeRecord) -> int:
    """Total rows the merge moved, from the journal's per-table, per-person counts."""
    counts = (record.moved or {}).get("counts", {})
    return sum(sum(per_person.values()) for per_person in counts.values())


def merge_groups_in_bulk(*, run: DedupRun, groups: Groups) -> ChunkOutcome:
    """The set-based path; if the database refuses it (a row written concurrently without the
    person lock), the chunk falls back to the engine group by group, inside the same chunk."""
    from dedup.services import bulk

    try:
        with transaction.atomic():
            return bulk.merge_chunk(run=run, groups=groups)
    except IntegrityError:
        logger.warning("dedup run %s: bulk chunk refused, merging group by group", run.pk)
        return merge_groups_one_by_one(run=run, groups=_reread(groups))


def _reread(groups: Groups) -> Groups:
    """Fresh rows after the rolled-back savepoint (the bulk path changed them in memory)."""
    ids = [p.pk for _, people in groups for p in people]
    fresh = Person.objects.in_bulk(ids)
    return [(email, [fresh[p.pk] for p in people]) for email, people in groups]
