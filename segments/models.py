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
