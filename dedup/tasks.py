"""Celery tasks: thin, take ids, call services, safe to redeliver (acks_late is on).

A run is spread over the workers: `run_dedup_task` claims and plans it, then enqueues one
`dedup_chunk_task` per chunk; the chunk that completes the run marks it succeeded.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from dedup import services
from dedup.services.chunks import process_chunk
from dedup.services.runs import error_words, fail_run

logger = logging.getLogger(__name__)


@shared_task(name="dedup.tasks.tick_schedules", ignore_result=True)
def tick_schedules() -> list[int]:
    """Beat calls this every minute: start the schedules that are due."""
    runs = services.tick_schedules()
    for run in runs:
        enqueue_run(run.pk)
    return [run.pk for run in runs]


@shared_task(name="dedup.tasks.run_dedup", ignore_result=True)
def run_dedup_task(run_id: int) -> int:
    """Claim and plan a run, then hand its chunks to the workers. Returns the chunks enqueued."""
    try:
        chunk_ids = services.start_run(run_id=run_id)
    except Exception as exc:
        fail_run(run_id=run_id, error=error_words(exc))
        raise
    for chunk_id in chunk_ids:
        dedup_chunk_task.delay(chunk_id, run_id)
    return len(chunk_ids)


@shared_task(name="dedup.tasks.dedup_chunk", ignore_result=True)
def dedup_chunk_task(chunk_id: int, run_id: int) -> None:
    """Merge one chunk (a no-op if it is already done), and finish the run if it was the last."""
    try:
        process_chunk(chunk_id=chunk_id)
    except Exception as exc:
        logger.exception("dedup chunk %s of run %s failed", chunk_id, run_id)
        fail_run(run_id=run_id, error=f"Chunk {chunk_id} failed: {error_words(exc)}")
        raise
    services.finish_if_complete(run_id=run_id)


def enqueue_run(run_id: int) -> None:
    """Send the run to a worker once the transaction that created it has committed."""
    transaction.on_commit(lambda: _send(run_id))


def _send(run_id: int) -> None:
    """A broker that cannot be reached fails the run visibly instead of leaving it pending."""
    try:
        run_dedup_task.delay(run_id)
    except Exception as exc:  # kombu raises OperationalError, transports raise their own
        logger.exception("could not enqueue dedup run %s", run_id)
        fail_run(run_id=run_id, error=f"Could not reach the Celery broker: {exc}")
