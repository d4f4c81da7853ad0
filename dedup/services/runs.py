"""A dedup run from start to finish: create, claim, plan chunks, merge them, finish.

The same functions serve the shell/command (the whole run in one process) and Celery (a task
claims and plans, chunk tasks spread over the workers, the last chunk finishes the run).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.pool import ThreadPool

from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from dedup.models import DedupChunk, DedupRun, DedupStatus, DedupTrigger
from dedup.services import conf, guard
from dedup.services.chunks import process_chunk
from dedup.services.detection import live_with_email, plan_chunks
from dedup.services.statistics import refresh_stale_statistics

Progress = Callable[[DedupRun], None]


def create_run(*, dry_run: bool = False, actor=None, trigger: str = DedupTrigger.SHELL) -> DedupRun:
    return DedupRun.objects.create(dry_run=dry_run, actor=actor, trigger=trigger)


def run_dedup(
    *, dry_run: bool = False, actor=None, trigger: str = DedupTrigger.SHELL,
    progress: Progress | None = None,
) -> DedupRun:
    """Scan live people, group by normalized email, merge each group; returns the run.

    A run that finds another one in progress records itself `skipped` and returns at once.
    """
    run = create_run(dry_run=dry_run, actor=actor, trigger=trigger)
    execute_run(run_id=run.pk, progress=progress)
    run.refresh_from_db()
    return run


def execute_run(*, run_id: int, progress: Progress | None = None) -> None:
    """Do the whole run from this process (the shell, the command).

    DEDUP_PARALLEL_CHUNKS chunks are merged at once, as that many Celery workers would take
    them: by forked processes (each opens its own connection; Python's decisions and journal
    JSON, ~40% of a chunk, then run on both cores instead of behind one lock), or by threads
    when this process may not fork (a daemon, e.g. a Celery prefork child). Inside a caller's
    transaction (tests) or on SQLite they run one after another, in it: other connections
    could not see its rows.
    """
    try:
        chunk_ids = start_run(run_id=run_id)
        parallel = int(conf.get("DEDUP_PARALLEL_CHUNKS"))
        if parallel > 1 and len(chunk_ids) > 1 and connection.vendor == "postgresql" \
                and not connection.in_atomic_block:
            _process_in_parallel(chunk_ids, parallel, run_id=run_id, progress=progress)
        else:
            for chunk_id in chunk_ids:
                process_chunk(chunk_id=chunk_id)
                _report(run_id, progress)
        finish_if_complete(run_id=run_id)
    except Exception as exc:
        fail_run(run_id=run_id, error=error_words(exc))
        raise


def _process_in_parallel(
    chunk_ids: list[int], parallel: int, *, run_id: int, progress: Progress | None
) -> None:
    if multiprocessing.current_process().daemon:
        pool = ThreadPool(parallel)
    else:
        connections.close_all()  # a forked child must not share the parent's connection
        pool = multiprocessing.get_context("fork").Pool(parallel)
    # Leaving the block terminates the pool: after a failed chunk, chunks still in progress
    # elsewhere die with their connections and roll back, like a killed worker's.
    with pool:
        for _ in pool.imap_unordered(_chunk_alone, chunk_ids):
            _report(run_id, progress)


def _chunk_alone(chunk_id: int) -> None:
    try:
        process_chunk(chunk_id=chunk_id)
    finally:
        connection.close()  # this process's (or thread's) own connection


def _report(run_id: int, progress: Progress | None) -> None:
    if progress is not None:
        progress(DedupRun.objects.get(pk=run_id))


def start_run(*, run_id: int) -> list[int]:
    """Claim the run and plan its chunks; the ids of the chunks still to do (safe to repeat)."""
    run = DedupRun.objects.get(pk=run_id)
    if run.is_finished or not guard.claim(run):
        return []
    if not run.chunks.exists():
        _plan(run)
    pending = list(run.chunks.filter(done=False).order_by("index").values_list("pk", flat=True))
    if not pending:
        finish_if_complete(run_id=run_id)
    return pending


def _plan(run: DedupRun) -> None:
    # Without statistics (autovacuum off, or behind after a bulk load) the chunk queries
    # can be planned badly enough to take minutes instead of seconds.
    refresh_stale_statistics()
    with transaction.atomic():
        scanned = live_with_email().count()
        found, plans = plan_chunks(chunk_groups=int(conf.get("DEDUP_CHUNK_GROUPS")))
        DedupChunk.objects.bulk_create(
            DedupChunk(
                run=run, index=i, first_email=p.first_email, last_email=p.last_email,
                groups_planned=p.groups,
            )
            for i, p in enumerate(plans)
        )
        DedupRun.objects.filter(pk=run.pk).update(
            people_scanned=scanned, groups_found=found, chunks_total=len(plans),
            heartbeat_at=timezone.now(),
        )


def finish_if_complete(*, run_id: int) -> bool:
    """Mark the run succeeded once every chunk is done (whoever gets here last wins)."""
    with transaction.atomic():
        run = DedupRun.objects.select_for_update().get(pk=run_id)
        if run.status != DedupStatus.RUNNING or run.chunks.filter(done=False).exists():
            return False
        now = timezone.now()
        run.status, run.finished_at, run.heartbeat_at = DedupStatus.SUCCEEDED, now, now
        run.save(update_fields=["status", "finished_at", "heartbeat_at"])
        return True


def error_words(exc: BaseException) -> str:
    """What went wrong, as staff read it on the run's page: a refusal's own sentences
    (never `ValidationError: ['…']`), anything else named as unexpected."""
    if isinstance(exc, ValidationError):
        text = " ".join(str(message) for message in exc.messages)
    else:
        text = f"Unexpected error ({type(exc).__name__}): {exc}"
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def fail_run(*, run_id: int, error: str) -> None:
    """A pending or running run ends as failed with `error` (finished runs are left alone)."""
    DedupRun.objects.filter(
        pk=run_id, status__in=[DedupStatus.PENDING, DedupStatus.RUNNING]
    ).update(
        status=DedupStatus.FAILED, error=error[:10_000], finished_at=timezone.now()
    )
