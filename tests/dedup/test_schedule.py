"""Schedule due times: every N days at a local time, across time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from unittest import mock

import pytest

from dedup.models import DedupRun, DedupSchedule
from dedup.schedule import first_slot_after, local_slot, next_slot
from dedup.services import tick_schedules


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_two_am_paris_is_one_am_utc_in_winter_and_midnight_in_summer():
    assert local_slot(day=datetime(2026, 1, 15).date(), at=time(2), tz="Europe/Paris") == utc(
        2026, 1, 15, 1)
    assert local_slot(day=datetime(2026, 7, 15).date(), at=time(2), tz="Europe/Paris") == utc(
        2026, 7, 15, 0)


def test_other_time_zones():
    day = datetime(2026, 1, 15).date()
    assert local_slot(day=day, at=time(2), tz="America/New_York") == utc(2026, 1, 15, 7)
    assert local_slot(day=day, at=time(2), tz="Asia/Kolkata") == utc(2026, 1, 14, 20, 30)
    assert local_slot(day=day, at=time(2), tz="UTC") == utc(2026, 1, 15, 2)


def test_spring_forward_gap_runs_at_the_same_wall_time_shifted_by_the_gap():
    # 2026-03-29 Europe/Paris: 02:00 CET jumps to 03:00 CEST; 02:00 and 02:30 do not exist.
    day = datetime(2026, 3, 29).date()
    assert local_slot(day=day, at=time(2), tz="Europe/Paris") == utc(2026, 3, 29, 1)  # 03:00
    assert local_slot(day=day, at=time(2, 30), tz="Europe/Paris") == utc(2026, 3, 29, 1, 30)


def test_fall_back_runs_once_at_the_first_occurrence():
    # 2026-10-25 Europe/Paris: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    day = datetime(2026, 10, 25).date()
    first = local_slot(day=day, at=time(2, 30), tz="Europe/Paris")
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    after = next_slot(previous=first, now=first, every_days=1, at=time(2, 30), tz="Europe/Paris")
    assert after == utc(2026, 10, 26, 1, 30)  # next day 02:30 CET, not the second 02:30


def test_daily_run_keeps_its_wall_time_across_dst():
    slot = utc(2026, 3, 28, 1)  # Saturday 02:00 CET
    slots = []
    for _ in range(3):
        slot = next_slot(previous=slot, now=slot, every_days=1, at=time(2), tz="Europe/Paris")
        slots.append(slot)
    assert slots == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0), utc(2026, 3, 31, 0)]


def test_weekly_and_monthly_intervals():
    slot = utc(2026, 3, 22, 1)  # Sunday 02:00 CET
    week = next_slot(previous=slot, now=slot, every_days=7, at=time(2), tz="Europe/Paris")
    assert week == utc(2026, 3, 29, 1)  # the spring-forward Sunday: 03:00 CEST
    month = next_slot(previous=slot, now=slot, every_days=30, at=time(2), tz="Europe/Paris")
    assert month == utc(2026, 4, 21, 0)


def test_missed_slots_catch_up_once_then_return_to_the_cadence():
    due = utc(2026, 1, 10, 1)
    now = utc(2026, 1, 14, 9)  # beat was down four days
    assert next_slot(previous=due, now=now, every_days=1, at=time(2), tz="Europe/Paris") == utc(
        2026, 1, 15, 1)
    assert next_slot(previous=due, now=now, every_days=7, at=time(2), tz="Europe/Paris") == utc(
        2026, 1, 17, 1)


def test_first_slot_is_today_if_not_passed_else_tomorrow():
    at = time(2)
    assert first_slot_after(now=utc(2026, 1, 15, 0), at=at, tz="Europe/Paris") == utc(
        2026, 1, 15, 1)
    assert first_slot_after(now=utc(2026, 1, 15, 1), at=at, tz="Europe/Paris") == utc(
        2026, 1, 16, 1)


@pytest.mark.django_db
def test_default_schedule_exists_after_migrate():
    schedule = DedupSchedule.objects.get()
    assert (schedule.enabled, schedule.every_days, schedule.time_zone) == (True, 1, "Europe/Paris")
    assert schedule.local_time == time(2) and not schedule.dry_run


@pytest.mark.django_db
def test_tick_sets_the_first_slot_then_starts_the_run_when_due():
    schedule = DedupSchedule.objects.get()
    now = utc(2026, 1, 15, 0, 30)
    assert tick_schedules(now=now) == []
    schedule.refresh_from_db()
    assert schedule.next_run_at == utc(2026, 1, 15, 1)
    assert tick_schedules(now=now + timedelta(minutes=29)) == []
    runs = tick_schedules(now=utc(2026, 1, 15, 1, 0, 30))
    assert [run.trigger for run in runs] == ["schedule"]
    schedule.refresh_from_db()
    assert schedule.last_run_id == runs[0].pk and schedule.next_run_at == utc(2026, 1, 16, 1)
    assert tick_schedules(now=utc(2026, 1, 15, 1, 1, 30)) == []  # the next tick: not again


@pytest.mark.django_db
def test_a_long_outage_starts_one_run_not_one_per_missed_slot():
    DedupSchedule.objects.update(next_run_at=utc(2026, 1, 10, 1))
    assert len(tick_schedules(now=utc(2026, 1, 14, 9))) == 1
    assert tick_schedules(now=utc(2026, 1, 14, 9, 1)) == []
    assert DedupRun.objects.count() == 1


@pytest.mark.django_db
def test_disabled_schedule_never_runs_and_dry_run_flag_is_passed():
    DedupSchedule.objects.update(next_run_at=utc(2026, 1, 10, 1), enabled=False)
    assert tick_schedules(now=utc(2026, 1, 14)) == []
    DedupSchedule.objects.update(enabled=True, dry_run=True)
    assert tick_schedules(now=utc(2026, 1, 14))[0].dry_run


@pytest.mark.django_db
def test_beat_task_enqueues_each_started_run_on_commit():
    from dedup import tasks

    DedupSchedule.objects.update(next_run_at=utc(2020, 1, 1, 1))
    with mock.patch.object(tasks.run_dedup_task, "delay") as delay, \
            mock.patch("dedup.tasks.transaction.on_commit", side_effect=lambda f: f()):
        run_ids = tasks.tick_schedules()
    delay.assert_called_once_with(run_ids[0])
