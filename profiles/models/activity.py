from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from profiles.models.person import Person
from profiles.models.site import Site


class ActivityKind(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    EVENT = "event", "Event"
    CHAT_MESSAGE = "chat_message", "Chat message"
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_OPENED = "email_opened", "Email opened"
    EMAIL_CLICKED = "email_clicked", "Email clicked"
    PURCHASE = "purchase", "Purchase"
    DEAL = "deal", "Deal"
    NOTE = "note", "Note"
    TAG_ADDED = "tag_added", "Tag added"
    SEGMENT_ENTERED = "segment_entered", "Segment entered"
    SEGMENT_LEFT = "segment_left", "Segment left"
    IDENTIFY = "identify", "Identified"
    MERGED = "merged", "Merged"


class ActivitySource(models.TextChoices):
    WEB = "web", "Web"
    CHAT = "chat", "Chat"
    EMAIL = "email", "Email"
    IMPORT = "import", "Import"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class Conversation(models.Model):
    """A chat conversation. It follows the person through merges, so it continues anywhere."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="conversations")
    original_person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", db_index=True
    )
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["person", "-last_message_at"], name="conv_person_idx")]

    def __str__(self) -> str:
        return f"Conversation #{self.pk}"


class Deal(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="deals")
    original_person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", db_index=True
    )
    title = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    stage = models.CharField(max_length=32, default="open")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.title


class Activity(models.Model):
    """The timeline, append-only. `original_person` is who the row was first recorded for."""

    # No index of its own: activity_timeline_idx (person, -occurred_at) serves every lookup by
    # person, and a second index would double the index writes of every merged row.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    original_person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", db_index=True
    )
    kind = models.CharField(max_length=32, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(
        max_length=16, choices=ActivitySource.choices, default=ActivitySource.WEB
    )
    # No database constraint: PostgreSQL would check it by locking the site's row (FOR KEY
    # SHARE) at every event's COMMIT, and all of a site's concurrent events share that one
    # row. Sites are revoked, not deleted; deleting one still nulls site_id (Django's
    # on_delete runs in Python), through the index kept below.
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False
    )
    # Indexed only where set (see Meta): most activities are not chat messages, and an index
    # entry for each NULL would be written with every page view.
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="messages",
        db_index=False,
    )
    # Set by the website for retried events. A message_id alone proves nothing (anyone with
    # the public key can send "order-1001" first), so a resend is recognised by
    # `message_digest`: a hash of the message_id with who sent it (the user and device IDs as
    # sent), the kind and the content. Another sender or another content is another event.
    message_id = models.CharField(max_length=128, null=True, blank=True)
    message_digest = models.CharField(max_length=32, null=True, blank=True, editable=False)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["person", "-occurred_at"], name="activity_timeline_idx"),
            models.Index(
                fields=["conversation"],
                condition=Q(conversation__isnull=False),
                name="activity_conversation_idx",
            ),
        ]
        constraints = [
            # One row per resent event and site (each site's IDs are its own).
            models.UniqueConstraint(
                fields=["site", "message_digest"],
                condition=Q(message_digest__isnull=False, site__isnull=False),
                name="activity_site_message_digest_unique",
            ),
            # Events recorded without a site (the Python API, imports) share one namespace.
            models.UniqueConstraint(
                fields=["message_digest"],
                condition=Q(message_digest__isnull=False, site__isnull=True),
                name="activity_message_digest_unique_no_site",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"
