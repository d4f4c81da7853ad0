"""One chunk of a run: the duplicate groups of an email range, in one transaction.

The transaction merges every group of the chunk, writes its report and conflicts, marks the
chunk done and bumps the run's counters; so a killed worker leaves each group fully merged or
untouched, and a redelivered chunk task finds `done` and does nothing.
"""

from __future__ import annotations

import time

from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from dedup.models import DedupChunk, DedupConflict, DedupRun, DedupStatus
from dedup.services import conf, guard
from dedup.services.detection import group_members
from dedup.services.groups import Decided, decide_groups
from profiles.services.collector import collector_paused

DEADLOCK_RETRIES = 3


def process_chunk(*, chunk_id: int) -> bool:
    """Merge one chunk; True if this call did the work. Retries a deadlock a few times."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return _process_chunk_once(chunk_id)
        except OperationalError as exc:
            if "deadlock" not in str(exc).lower() or attempt == DEADLOCK_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    return False  # pragma: no cover


def _process_chunk_once(chunk_id: int) -> bool:
    with collector_paused(), transaction.atomic():
        chunk = DedupChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.done:
            return False
        guard.hold_run_lock(chunk.run_id)
        # Re-read after the lock: a run taken over (marked failed) must not merge any more.
        run = DedupRun.objects.get(pk=chunk.run_id)
        if run.status != DedupStatus.RUNNING:
            return False
        _commit_without_waiting_for_disk()
        outcome, decided = _merge_or_preview(run, chunk)
        _record(run, chunk, outcome, decided)
    return True


def _commit_without_waiting_for_disk() -> None:
    """Asynchronous commit for this chunk transaction only (docs/dedup.md, "Asynchronous
    commit"): its COMMIT returns before the WAL reaches the disk. A server crash in that short
    window loses the whole chunk — merges, journal, report and its `done` flag together, never
    half of it — so the chunk is simply not done and the next run merges its groups again. Any
    later synchronous commit (the run's `succeeded`, any other write) flushes it first."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _merge_or_preview(run: DedupRun, chunk: DedupChunk):  # noqa: ANN202 (ChunkOutcome, Decided)
    # Imported here: execution imports the merge engine, which imports many models.
    from dedup.services.execution import apply_chunk

    groups = list(
        group_members(first=chunk.first_email, last=chunk.last_email, lock=not run.dry_run)
    )
    delay = float(conf.get("DEDUP_CHUNK_DELAY_SECONDS"))
    if delay:  # test only: hold the chunk's locks so a test can act (or kill) mid-chunk
        time.sleep(delay)
    # Who merges with whom (kept-apart marks, conflicts, typed emails): dedup/services/groups.py
    decided = decide_groups(run=run, groups=groups)
    outcome = apply_chunk(run=run, groups=decided.mergeable)
    outcome.conflicts += decided.conflicts
    outcome.report = sorted([*outcome.report, *decided.report], key=lambda e: e["email"])
    return outcome, decided


def _record(run: DedupRun, chunk: DedupChunk, outcome, decided: Decided) -> None:  # noqa: ANN001
    now = timezone.now()
    DedupConflict.objects.bulk_create([*outcome.conflicts, *decided.reviews])
    chunk.done, chunk.finished_at, chunk.report = True, now, outcome.report
    chunk.groups_merged = outcome.groups_merged
    chunk.people_merged = outcome.people_merged
    chunk.conflicts = len(outcome.conflicts)
    chunk.rows_moved = outcome.rows_moved
    chunk.save()
    # Last statement of the transaction: the run row stays locked only until the commit.
    DedupRun.objects.filter(pk=run.pk).update(
        groups_merged=F("groups_merged") + outcome.groups_merged,
        people_merged=F("people_merged") + outcome.people_merged,
        conflicts=F("conflicts") + len(outcome.conflicts),
        needs_review=F("needs_review") + sum(len(r.left_out) for r in decided.reviews),
        kept_apart=F("kept_apart") + decided.kept_apart,
        rows_moved=F("rows_moved") + outcome.rows_moved,
        chunks_done=F("chunks_done") + 1,
        heartbeat_at=now,
    )
