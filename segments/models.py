"""Segments: classifications staff define over profiles and their behaviour (docs/segments.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from profiles.models import Person
from profiles.models.fields import OriginalOwnerField


class Segment(models.Model):
    name = models.CharField(max_length=200)
    key = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    visible_to_website = models.BooleanField(
        "visible to the website", default=False,
        help_text="The website may ask whether its visitor is in this segment.",
    )
    # The rule language of docs/segments.md, checked by segments.services.definition.
    definition = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    last_rebuilt_at = models.DateTimeField("last rebuild", null=True, blank=True)
    # Counted by the last rebuild; real time does not write this row (every event for a
    # member would contend for it), so the admin counts the memberships themselves.
    member_count = models.PositiveIntegerField("members at last rebuild", default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """A live person in a segment. `original_person` makes it follow merges (the relation
    registry moves it, parks it when the base is already a member, and undo moves it back)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="segment_memberships")
    original_person = OriginalOwnerField(
        Person, on_delete=models.CASCADE, related_name="+", db_index=True
    )
    # When the person counts as having entered: the earliest of its own entry and those of the
    # profiles merged into it (their rows stay parked on them). `own_entered_at` is this row's
    # own entry, never changed, so undo can recompute `entered_at` exactly.
    entered_at = models.DateTimeField(default=timezone.now)
    own_entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "person"], name="segment_member_unique"),
        ]
        indexes = [models.Index(fields=["person", "segment"], name="segment_member_person_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.segment_id}"


class RebuildState(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    SUPERSEDED = "superseded", "Stopped: the segment was changed"
    FAILED = "failed", "Failed"


class SegmentRebuild(models.Model):
    """One rebuild of a segment's members: the definition it rebuilds (a copy: an edit made
    meanwhile starts another rebuild and this one stops), its chunks and what they did."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="rebuilds")
    definition = models.JSONField(default=dict)
    enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=16, choices=RebuildState.choices,
                             default=RebuildState.RUNNING)
    # Why it ran, in plain words ("the segment was changed", "a time window passed"…).
    reason = models.CharField(max_length=100, blank=True)
    in_background = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    entered = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)
    members = models.PositiveIntegerField(null=True, blank=True)  # when it finished
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["segment", "state"], name="segment_rebuild_state_idx")]

    def __str__(self) -> str:
        return f"Rebuild #{self.pk} of {self.segment_id}"

    @property
    def running(self) -> bool:
        return self.state == RebuildState.RUNNING


class SegmentRebuildChunk(models.Model):
    """The live people of an id range (open at either end when null) of one rebuild, done in
    one transaction that also marks it done: a redelivered chunk task does nothing."""

    rebuild = models.ForeignKey(SegmentRebuild, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_id = models.BigIntegerField(null=True, blank=True)
    last_id = models.BigIntegerField(null=True, blank=True)
    done = models.BooleanField(default=False)
    entered = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rebuild", "index"]
        constraints = [models.UniqueConstraint(fields=["rebuild", "index"],
                                               name="segment_rebuild_chunk_unique")]

    def __str__(self) -> str:
        return f"Chunk {self.index} of rebuild #{self.rebuild_id}"
