"""Dedup runs and schedules as staff read them: counts in sentences ("would merge" for a dry
run, which merged nothing), progress in groups, schedule times with their zone on both sides."""

from __future__ import annotations

import datetime as dt

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from dedup.models import DedupChunk, DedupRun, DedupSchedule, DedupStatus
from dedup.schedule import first_slot_after, next_slot
from profiles.admin.plain import when
from profiles.admin.viewer_zone import zone_named


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def merged_words(run: DedupRun) -> str:
    """"12 groups merged (19 people)"; a dry run: "12 groups would merge (19 people)"."""
    verb = "would merge" if run.dry_run else "merged"
    people = plural(run.people_merged, "person", "people")
    return f"{plural(run.groups_merged, 'group')} {verb} ({people})"


def counts_words(run: DedupRun) -> str:
    """"13 groups found · 12 would merge (19 people) · 1 conflict"."""
    verb = "would merge" if run.dry_run else "merged"
    return (f"{plural(run.groups_found, 'group')} found · {run.groups_merged:,} {verb} "
            f"({plural(run.people_merged, 'person', 'people')}) · "
            f"{plural(run.conflicts, 'conflict')}{_decisions_words(run)}")


def _decisions_words(run: DedupRun) -> str:
    """" · 2 people to review · 1 group split (kept apart)", only what happened."""
    words = ""
    if run.needs_review:
        words += f" · {plural(run.needs_review, 'person', 'people')} to review"
    if run.kept_apart:
        words += f" · {plural(run.kept_apart, 'group')} split (kept apart)"
    return words


def _chunk_sum(done: bool | None) -> Coalesce:
    chunks = DedupChunk.objects.filter(run=OuterRef("pk"))
    if done is not None:
        chunks = chunks.filter(done=done)
    total = chunks.order_by().values("run").annotate(total=Sum("groups_planned")).values("total")
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def with_group_progress(runs: QuerySet[DedupRun]) -> QuerySet[DedupRun]:
    """Runs annotated with the groups their chunks planned and the groups in chunks done."""
    return runs.annotate(groups_planned=_chunk_sum(None), groups_done=_chunk_sum(True))


def progress_words(run: DedupRun) -> str:
    """"1,200 of 3,400 groups (3 of 9 chunks)"; a run not yet planned: a dash."""
    if not run.chunks_total:
        return "—"
    planned = getattr(run, "groups_planned", None)
    done = getattr(run, "groups_done", None)
    if planned is None or done is None:
        sums = run.chunks.aggregate(planned=Sum("groups_planned"))
        planned = sums["planned"] or 0
        done = run.chunks.filter(done=True).aggregate(done=Sum("groups_planned"))["done"] or 0
    return (f"{done:,} of {plural(planned, 'group')} "
            f"({run.chunks_done:,} of {plural(run.chunks_total, 'chunk')})")


def last_dry_run() -> DedupRun | None:
    return (DedupRun.objects.filter(dry_run=True, status=DedupStatus.SUCCEEDED)
            .order_by("-finished_at", "-id").first())


def dry_run_summary(run: DedupRun | None) -> str:
    """What the last dry run found, for the "Run dedup now" page."""
    if run is None:
        return "No dry run has finished yet: a dry run shows what a real run would merge."
    return (f"The last dry run (#{run.pk}, finished {when(run.finished_at)}) found "
            f"{plural(run.groups_found, 'group')} of people sharing an email: "
            f"{run.groups_merged:,} would merge ({plural(run.people_merged, 'person', 'people')} "
            f"into their base profile), {plural(run.conflicts, 'conflict')} "
            f"(different user IDs) and {plural(run.needs_review, 'person', 'people')} whose "
            "email was only typed in chat left for review.")


def _short(moment: dt.datetime) -> str:
    """"Tue 2 Dec 02:00"."""
    return f"{moment:%a} {moment.day} {moment:%b %H:%M}"


def _planned(schedule: DedupSchedule) -> dt.datetime | None:
    """The slot the beat's next tick will plan for a schedule not planned yet (as it does)."""
    now = timezone.now()
    try:
        if schedule.last_run_at is None:
            return first_slot_after(now=now, at=schedule.local_time, tz=schedule.time_zone)
        return next_slot(previous=schedule.last_run_at, now=now, every_days=schedule.every_days,
                         at=schedule.local_time, tz=schedule.time_zone)
    except (ValueError, OverflowError, LookupError):
        return None


def schedule_words(schedule: DedupSchedule) -> str:
    """"02:00 Europe/Paris — next run Tue 2 Dec 02:00 CET (01:00 UTC)"."""
    head = f"{schedule.local_time:%H:%M} {schedule.time_zone}"
    if not schedule.enabled:
        return f"{head} — switched off"
    next_run = schedule.next_run_at or _planned(schedule)
    if next_run is None:
        return f"{head} — next run not planned yet"
    local = next_run.astimezone(zone_named(schedule.time_zone) or dt.UTC)
    utc = next_run.astimezone(dt.UTC)
    in_utc = f"{utc:%H:%M}" if utc.date() == local.date() else _short(utc)
    return f"{head} — next run {_short(local)} {local.tzname()} ({in_utc} UTC)"


def interval_words(schedule: DedupSchedule) -> str:
    """"every night", "every 7 days" (the model's own words)."""
    return schedule.interval_words
