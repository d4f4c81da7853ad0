"""Due-time arithmetic for DedupSchedule: every N days at a local wall time in a time zone.

Pure functions (no database) so the DST cases are easy to test.

Rules:
- Runs fall on local dates `anchor + k * every_days` at `local_time` in the schedule's zone.
- A local time that does not exist (the spring-forward gap, e.g. 02:30 in Europe/Paris on the
  last Sunday of March) is read with the offset in force *before* the gap, as RFC 5545 does:
  02:00 becomes 03:00 CEST, 02:30 becomes 03:30 CEST. The run still happens that day.
- A local time that exists twice (fall back, e.g. 02:30 on the last Sunday of October) runs
  once, at its first occurrence (fold=0, still summer time).
- A missed tick (beat or workers down) catches up once: the schedule runs as soon as it is seen
  due, then moves to the next slot in the future; it never replays every slot it missed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Ten years: a longer interval is a typo, and dates that far out overflow the calendar
# (the model's validator and constraint use this too).
MAX_EVERY_DAYS = 3650


def local_slot(*, day: date, at: time, tz: str) -> datetime:
    """The aware instant (UTC) of wall time `at` on `day` in `tz`, per the rules above."""
    zone = ZoneInfo(tz)
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    # zoneinfo gives a non-existent wall time the pre-gap offset with fold=0: exactly RFC 5545.
    return wall.astimezone(UTC)


def first_slot_after(*, now: datetime, at: time, tz: str) -> datetime:
    """The first slot at `at` local time strictly after `now` (today's, else tomorrow's)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    for offset in (-1, 0, 1, 2):
        slot = local_slot(day=today + timedelta(days=offset), at=at, tz=tz)
        if slot > now:
            return slot
    raise AssertionError("unreachable: a slot exists within two days")  # pragma: no cover


def next_slot(*, previous: datetime, now: datetime, every_days: int, at: time, tz: str) -> datetime:
    """The slot after `previous` (a slot that ran or was due) that lies in the future.

    Counting in local dates keeps a weekly run on its weekday and at its wall time across DST;
    skipping every slot <= now is the "catch up once" rule.
    """
    if not 1 <= every_days <= MAX_EVERY_DAYS:
        raise ValueError(f"every_days must be 1 to {MAX_EVERY_DAYS}, not {every_days}")
    day = previous.astimezone(ZoneInfo(tz)).date()
    today = now.astimezone(ZoneInfo(tz)).date()
    # Jump close to today in whole periods, then step: O(1) even after a year of downtime.
    if today > day:
        periods = (today - day).days // every_days
        day += timedelta(days=max(periods - 1, 0) * every_days)
    while True:
        day += timedelta(days=every_days)
        slot = local_slot(day=day, at=at, tz=tz)
        if slot > now:
            return slot
