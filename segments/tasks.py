"""Celery tasks: thin, take ids, call a service, safe to redeliver (acks_late is on).

A rebuild in the background is one `rebuild_chunk` task per chunk, shared by the workers;
the chunk that completes the rebuild finishes it.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from segments.models import SegmentRebuildChunk
from segments.services import refresh_time_windows
from segments.services.rebuild import fail_rebuild, finish_if_complete, process_chunk

logger = logging.getLogger(__name__)


@shared_task(name="segments.tasks.refresh_time_windows", ignore_result=True)
def refresh_time_windows_task() -> dict[int, tuple[int, int]]:
    """Beat calls this every minute: time windows that passed move people in or out."""
    return refresh_time_windows()


@shared_task(name="segments.tasks.rebuild_chunk", ignore_result=True)
def rebuild_chunk_task(chunk_id: int, rebuild_id: int) -> None:
    """Rebuild one chunk (nothing if done or superseded); finish the rebuild if it was last."""
    try:
        process_chunk(chunk_id=chunk_id)
    except Exception as exc:
        logger.exception("segment rebuild %s: chunk %s failed", rebuild_id, chunk_id)
        fail_rebuild(rebuild_id=rebuild_id,
                     error=f"A chunk failed with an unexpected error ({type(exc).__name__}).")
        raise
    finish_if_complete(rebuild_id=rebuild_id)


def enqueue_rebuild(rebuild_id: int) -> None:
    """Send the rebuild's chunks to the workers once the transaction that started it has
    committed (with CELERY_TASK_ALWAYS_EAGER they run right then, in this process)."""
    transaction.on_commit(lambda: _send(rebuild_id))


def _send(rebuild_id: int) -> None:
    """A broker that cannot be reached fails the rebuild visibly instead of leaving it
    running for ever."""
    chunks = SegmentRebuildChunk.objects.filter(rebuild_id=rebuild_id, done=False) \
        .order_by("index").values_list("pk", flat=True)
    try:
        for chunk_id in chunks:
            rebuild_chunk_task.delay(chunk_id, rebuild_id)
    except Exception as exc:  # kombu raises OperationalError, transports raise their own
        logger.exception("could not enqueue segment rebuild %s", rebuild_id)
        fail_rebuild(rebuild_id=rebuild_id, error=f"Could not reach the task queue: {exc}")
