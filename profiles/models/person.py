from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Trim
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from profiles.avatars import avatar_data_uri
from profiles.models.fields import OriginalOwnerField


class PersonStatus(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    USER = "user", "User"


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    color = models.CharField(max_length=7, default="#79aec8")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """One profile. A merged duplicate stays as a tombstone pointing at its base."""

    user_id = models.CharField("user ID", max_length=255, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=PersonStatus.choices, default=PersonStatus.VISITOR
    )
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    # Stored by the database itself, so bulk writes can never leave it stale and duplicate
    # detection is an index scan.
    email_normalized = models.GeneratedField(
        expression=Lower(Trim("email")),
        output_field=models.CharField(max_length=254),
        db_persist=True,
    )
    phone = models.CharField(max_length=64, blank=True)
    company = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=128, blank=True)
    country = models.CharField(max_length=128, blank=True)
    os = models.CharField("OS", max_length=64, blank=True)
    browser = models.CharField(max_length=64, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    avatar_seed = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField("last updated", default=timezone.now)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    last_contacted = models.DateTimeField(null=True, blank=True)
    last_heard_from = models.DateTimeField(null=True, blank=True)

    page_views = models.PositiveIntegerField(default=0)
    visits = models.PositiveIntegerField(default=0)

    tags = models.ManyToManyField(
        Tag,
        through="PersonTag",
        through_fields=("person", "tag"),
        related_name="people",
        blank=True,
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_people"
    )
    merged_at = models.DateTimeField(null=True, blank=True)

    # No index on the history's merged_into: nothing looks history up by it, and a merge writes
    # a history row per participant (a dedup chunk: ~3,300), each paying every index.
    history = HistoricalRecords(excluded_fields=["email_normalized"], no_db_index=["merged_into"])

    class Meta:
        verbose_name_plural = "people"
        permissions = [
            ("merge_person", "Can merge people"),
            ("undo_merge", "Can undo a merge"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user_id"],
                condition=Q(merged_into__isnull=True, user_id__isnull=False),
                name="person_user_id_unique_live",
                violation_error_message="Another live person already has this user ID.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["visitor", "user"]), name="person_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(user_id=""), name="person_user_id_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | ~Q(merged_into=models.F("id")),
                name="person_not_merged_into_self",
            ),
        ]
        indexes = [
            models.Index(fields=["email_normalized"], name="person_email_norm_idx"),
            models.Index(fields=["user_id"], name="person_user_id_idx"),
            models.Index(fields=["phone"], name="person_phone_idx"),
            models.Index(fields=["name"], name="person_name_idx"),
            models.Index(fields=["-last_seen"], name="person_last_seen_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("admin:profiles_person_change", args=[self.pk])

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.user_id or f"Person #{self.pk}"

    @property
    def is_anonymous(self) -> bool:
        return not self.user_id and not self.email

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def avatar_url(self) -> str:
        return avatar_data_uri(self.avatar_seed or str(self.pk or self.name))


class PersonTag(models.Model):
    """Tag assignment; `original_person` is who it was first recorded for (merge undo)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="person_tags")
    # Unset (as `person.tags.add(tag)` leaves it), it is `person`: see OriginalOwnerField.
    original_person = OriginalOwnerField(
        Person, on_delete=models.CASCADE, related_name="+", db_index=True
    )
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="person_tags")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "tag"], name="persontag_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tag} on {self.person_id}"
