from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dedup.schedule import MAX_EVERY_DAYS
from profiles.models import Person


class DedupTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    STAFF = "staff", "Staff"
    SHELL = "shell", "Shell"


class DedupStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (another run was in progress)"


class DedupRun(models.Model):
    trigger = models.CharField(max_length=16, choices=DedupTrigger.choices)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=DedupStatus.choices, default=DedupStatus.PENDING
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    people_scanned = models.PositiveIntegerField(default=0)
    groups_found = models.PositiveIntegerField(default=0)
    groups_merged = models.PositiveIntegerField(default=0)
    people_merged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    # People left out because their email is only typed (listed as "needs review"), and
    # groups split around "not the same person" marks.
    needs_review = models.PositiveIntegerField("people to review (email only typed)", default=0)
    kept_apart = models.PositiveIntegerField("groups split (kept apart)", default=0)
    rows_moved = models.PositiveBigIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # Written by whoever works on the run; a `running` run whose heartbeat is old and whose
    # advisory lock nobody holds is dead (its worker was killed) and the next run takes over.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The per-group report lives on the run's chunks (DedupChunk.report), written with each
    # chunk's transaction: see dedup.services.report.

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("run_dedup", "Can run deduplication")]
        constraints = [
            # The database guard against overlap: at most one run is running at a time.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="running"),
                name="dedup_one_running_run",
            ),
        ]

    def __str__(self) -> str:
        kind = "Dry run" if self.dry_run else "Run"
        return f"{kind} #{self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (DedupStatus.SUCCEEDED, DedupStatus.FAILED, DedupStatus.SKIPPED)

    @property
    def duration(self):  # -> timedelta | None
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class DedupChunk(models.Model):
    """A slice of a run: the duplicate groups whose email lies in [first_email, last_email].

    A chunk is merged in one transaction that also marks it done, so a chunk is either fully
    applied or not at all, and a redelivered chunk task sees `done` and does nothing.
    """

    run = models.ForeignKey(DedupRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_email = models.CharField(max_length=254)
    last_email = models.CharField(max_length=254)
    groups_planned = models.PositiveIntegerField(default=0)
    done = models.BooleanField(default=False)
    groups_merged = models.PositiveIntegerField(default=0)
    people_merged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    rows_moved = models.PositiveBigIntegerField(default=0)
    # One entry per group: email, base, merged people, field winners, conflict, journal id.
    report = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="dedup_chunk_unique_index"),
        ]

    def __str__(self) -> str:
        return f"Chunk {self.index} of run #{self.run_id}"


class ReviewKind(models.TextChoices):
    USER_IDS = "user_ids", "Different user IDs"
    TYPED_EMAIL = "typed_email", "Email only typed (needs review)"


class DedupConflict(models.Model):
    """People of a same-email group the run did not merge, listed for staff to review.

    - `user_ids`: the group (or its part left after kept-apart marks) holds different user IDs:
      none of it is merged;
    - `typed_email`: `left_out` people whose email is only typed (written in chat) were left
      out of merging with people who hold a user ID, are users, or hold a staff or verified
      email (`evidence`: every member's email, its trust, user ID and status).
    """

    run = models.ForeignKey(DedupRun, on_delete=models.CASCADE, related_name="conflict_rows")
    kind = models.CharField(max_length=16, choices=ReviewKind.choices,
                            default=ReviewKind.USER_IDS)
    email_normalized = models.CharField(max_length=254)
    person_ids = models.JSONField(default=list)
    user_ids = models.JSONField(default=list)
    left_out = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email_normalized"]
        verbose_name = "dedup conflict or review"
        verbose_name_plural = "dedup conflicts and reviews"

    def __str__(self) -> str:
        if self.kind == ReviewKind.TYPED_EMAIL:
            return f"Needs review: {self.email_normalized}"
        return f"Conflict on {self.email_normalized}"


class KeptApart(models.Model):
    """Staff's word (or an undo's) that two profiles are not the same person: no dedup merges
    them, and the suspected duplicates leave the pair out (docs/dedup.md, "Not the same
    person"). Who and why are here; the two people are its two ends (`KeptApartEnd`).

    A removed mark stays, with who removed it, when and why.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    removal_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "mark: not the same person"
        verbose_name_plural = "marks: not the same person"

    def __str__(self) -> str:
        return f"Mark #{self.pk}: not the same person ({self.reason})"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class KeptApartEnd(models.Model):
    """One end of a mark: one of the two people. An end is a row of its person like an
    activity (`person` / `original_person`, found by the merge's relation registry): a merge
    moves it to the base, undo moves it back, and a mark on a merged profile holds for the
    profile that absorbed it.

    Why two rows and not one row with two people: a row is written only by merges of its own
    person, which hold that person's lock; one row naming two people would be written by two
    merges of different people at once (a deadlock under concurrent merges). Nothing stops both
    ends from reaching one profile (staff may still merge two marked people by hand): a person
    is never in a group with itself, so the mark is then idle until undo separates them.
    """

    mark = models.ForeignKey(KeptApart, on_delete=models.CASCADE, related_name="ends")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="kept_apart_ends")
    original_person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["mark", "id"]
        verbose_name = "end of a “not the same person” mark"
        verbose_name_plural = "“not the same person” marks"

    def __str__(self) -> str:
        return f"Mark #{self.mark_id}: person #{self.person_id}"


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value!r} (use an IANA name).") from exc


class DedupSchedule(models.Model):
    name = models.CharField(max_length=100, default="Nightly dedup")
    enabled = models.BooleanField(default=True)
    every_days = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_EVERY_DAYS)],
        help_text=f"Run every N days (1, 7, 30 or any interval up to {MAX_EVERY_DAYS}).",
    )
    local_time = models.TimeField(default="02:00")
    time_zone = models.CharField(
        max_length=64, default="Europe/Paris", validators=[validate_time_zone],
        help_text="IANA name, e.g. Europe/Paris (CET/CEST).",
    )
    dry_run = models.BooleanField(default=False)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(
        DedupRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(every_days__gte=1, every_days__lte=MAX_EVERY_DAYS),
                name="dedup_schedule_every_days_range",
                violation_error_message=f"Run every 1 to {MAX_EVERY_DAYS} days.",
            ),
        ]

    def __str__(self) -> str:
        at = self.local_time.strftime("%H:%M") if hasattr(self.local_time, "strftime") \
            else self.local_time
        return f"{self.name} ({self.interval_words} at {at} {self.time_zone})"

    @property
    def interval_words(self) -> str:
        """"every night", "every 7 days"."""
        return "every night" if self.every_days == 1 else f"every {self.every_days:,} days"
