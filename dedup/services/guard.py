"""Never two runs at once, and never a run stuck forever behind a killed worker.

Two guards, both in the database:
- the partial unique constraint `dedup_one_running_run`: at most one `running` row. A second
  run that tries to become `running` gets an IntegrityError and records itself `skipped`;
- liveness: whoever works on a run holds a shared advisory lock on it (PostgreSQL) for the
  length of each chunk transaction and bumps `heartbeat_at` when the chunk commits. A killed
  worker's connection dies, which releases its lock; once the heartbeat is also older than
  DEDUP_STALE_AFTER_SECONDS, the next run marks the dead one failed and takes over.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from dedup.models import DedupRun, DedupStatus
from dedup.services import conf

# First key of the two-int advisory lock space: "dedup" in ASCII, the run id is the second.
LOCK_NAMESPACE = 0x64656475


def hold_run_lock(run_id: int) -> None:
    """Shared, transaction-scoped: many chunks of one run may work at once (several workers)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, %s)", [LOCK_NAMESPACE, run_id % 2**31]
            )


def _nobody_works_on(run_id: int) -> bool:
    """True when no transaction holds the run's lock; ours is released when we commit."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, run_id % 2**31]
        )
        return bool(cursor.fetchone()[0])


def is_dead(run: DedupRun, *, now=None) -> bool:
    """Must be called inside a transaction (the probe lock lasts until it ends)."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=float(conf.get("DEDUP_STALE_AFTER_SECONDS")))
    last_sign = run.heartbeat_at or run.started_at or run.created_at
    return last_sign <= now - stale_after and _nobody_works_on(run.pk)


def claim(run: DedupRun) -> bool:
    """Make `run` the one running run. False (and the run recorded `skipped`) if another lives.

    A redelivered task for a run that is already `running` claims it again only if it is dead
    (its previous worker was killed), and then carries on where the chunks say it stopped.
    """
    now = timezone.now()
    with transaction.atomic():
        current = DedupRun.objects.select_for_update().filter(status=DedupStatus.RUNNING).first()
        if current is not None and not is_dead(current, now=now):
            if current.pk != run.pk:
                _mark(run, DedupStatus.SKIPPED, f"Run #{current.pk} was in progress.", now)
            return False
        if current is not None and current.pk != run.pk:
            _mark(current, DedupStatus.FAILED, _takeover_note(current, run), now)
        try:
            with transaction.atomic():
                updated = DedupRun.objects.filter(
                    pk=run.pk, status__in=[DedupStatus.PENDING, DedupStatus.RUNNING]
                ).update(
                    status=DedupStatus.RUNNING, started_at=run.started_at or now,
                    heartbeat_at=now,
                )
        except IntegrityError:
            # Another run became `running` between our check and our update.
            _mark(run, DedupStatus.SKIPPED, "Another run started at the same moment.", now)
            return False
    run.refresh_from_db()
    return bool(updated)


def _takeover_note(dead: DedupRun, by: DedupRun) -> str:
    seen = dead.heartbeat_at or dead.started_at
    return (
        f"Abandoned: no worker since {seen:%Y-%m-%d %H:%M:%S} UTC (killed or lost). "
        f"Run #{by.pk} took over and finished the job."
    )


def _mark(run: DedupRun, status: str, error: str, now) -> None:
    DedupRun.objects.filter(pk=run.pk).update(
        status=status, error=error, finished_at=now, started_at=run.started_at or now
    )
    run.refresh_from_db()
