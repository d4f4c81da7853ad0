"""DedupSchedule: keeping `next_run_at` right, and starting what is due (called by beat)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dedup.models import DedupRun, DedupSchedule, DedupTrigger
from dedup.schedule import first_slot_after, next_slot

logger = logging.getLogger(__name__)


def reschedule(*, schedule: DedupSchedule, now: datetime | None = None) -> DedupSchedule:
    """Recompute the next run after a change of time, zone or interval (admin save)."""
    now = now or timezone.now()
    if schedule.last_run_at is None:
        schedule.next_run_at = first_slot_after(
            now=now, at=schedule.local_time, tz=schedule.time_zone
        )
    else:
        schedule.next_run_at = next_slot(
            previous=schedule.last_run_at, now=now, every_days=schedule.every_days,
            at=schedule.local_time, tz=schedule.time_zone,
        )
    schedule.save(update_fields=["next_run_at"])
    return schedule


def tick_schedules(*, now: datetime | None = None) -> list[DedupRun]:
    """Start every enabled schedule that is due; the runs created (to enqueue).

    Safe with two beats by mistake: each schedule row is locked and re-checked, so one tick
    starts the run and the other sees the moved `next_run_at`.
    """
    now = now or timezone.now()
    started = []
    for schedule_id in DedupSchedule.objects.filter(enabled=True).values_list("pk", flat=True):
        try:
            run = _tick_one(schedule_id, now)
        except (ValueError, OverflowError, LookupError) as error:
            # One schedule whose next run cannot be computed (a time zone removed from the
            # system's tz database, a date out of the calendar) must not stop the others.
            logger.error("Dedup schedule #%s skipped: its next run cannot be computed (%s).",
                         schedule_id, error)
            continue
        if run is not None:
            started.append(run)
    return started


def _tick_one(schedule_id: int, now: datetime) -> DedupRun | None:
    with transaction.atomic():
        schedule = DedupSchedule.objects.select_for_update().get(pk=schedule_id)
        if not schedule.enabled:
            return None
        if schedule.next_run_at is None:
            reschedule(schedule=schedule, now=now)
            return None
        if schedule.next_run_at > now:
            return None
        run = DedupRun.objects.create(trigger=DedupTrigger.SCHEDULE, dry_run=schedule.dry_run)
        due = schedule.next_run_at
        # From the slot that was due, not from now: keeps the wall time; skips missed slots.
        schedule.next_run_at = next_slot(
            previous=due, now=now, every_days=schedule.every_days,
            at=schedule.local_time, tz=schedule.time_zone,
        )
        schedule.last_run_at, schedule.last_run = now, run
        schedule.save(update_fields=["next_run_at", "last_run_at", "last_run"])
        return run
