from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from profiles.models.fields import TextJSONField
from profiles.models.person import Person


class MergeReason(models.TextChoices):
    MANUAL = "manual", "Manual (staff)"
    IDENTIFY = "identify", "Identify"
    DEDUP = "dedup", "Scheduled dedup"
    API = "api", "API"


class MergeRecord(models.Model):
    """The journal of one merge: enough to show what happened and to undo it exactly."""

    # Looked up through merge_base_idx (base, -created_at), which serves base alone too: a
    # second index of its own would only cost each journal entry an index write.
    base = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merge_records",
                             db_index=False)
    merged_ids = models.JSONField(default=list, help_text="IDs of the people merged into base")
    reason = models.CharField(max_length=16, choices=MergeReason.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    dedup_run = models.ForeignKey(
        "dedup.DedupRun", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="merge_records",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Written once, read back whole (the journal page, undo), never queried inside: kept as
    # text JSON (TextJSONField), which the server only checks.
    # Field values of every participant before the merge, keyed by person id.
    snapshot = TextJSONField(default=dict)
    # Which original owners' rows moved, per merged person, and the counts per table.
    moved = TextJSONField(default=dict)
    # Per field: which rule chose the surviving value, whose it was and the value
    # (journal.decisions_json; journal.read_decisions reads every form).
    decisions = TextJSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = []
        indexes = [models.Index(fields=["base", "-created_at"], name="merge_base_idx")]

    def __str__(self) -> str:
        return f"Merge #{self.pk} into {self.base_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
