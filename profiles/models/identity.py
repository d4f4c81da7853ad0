from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from profiles.models.person import Person


class IdentityKind(models.TextChoices):
    USER_ID = "user_id", "User ID"
    EMAIL = "email", "Email"
    ANONYMOUS_ID = "anonymous_id", "Anonymous ID (device)"
    PHONE = "phone", "Phone"


# Kinds that identify exactly one person: a second owner is refused by the database.
EXCLUSIVE_KINDS = (IdentityKind.USER_ID, IdentityKind.ANONYMOUS_ID)


class IdentityTrust(models.TextChoices):
    """How an identity was learned (docs/rules.md, "Trust in an email and a user ID")."""

    STAFF = "staff", "Staff (admin, shell, import, or stored before provenance existed)"
    VERIFIED = "verified", "Verified (the website's HMAC)"
    CLAIMED = "claimed", "Claimed (a website's word, unverified)"
    TYPED = "typed", "Typed in chat by the visitor"


# Stronger trust replaces weaker when the same identity is learned again; never the reverse.
TRUST_RANK = {
    IdentityTrust.TYPED: 0,
    IdentityTrust.CLAIMED: 1,
    IdentityTrust.STAFF: 2,
    IdentityTrust.VERIFIED: 3,
}


class Identity(models.Model):
    """A key that resolves to a person. `value` is stored normalized (see services)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities")
    original_person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", db_index=True
    )
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=255)
    # Anything written without saying otherwise (admin, shell, import, raw SQL writers: the
    # database has the same default) is staff's word; the website's paths always say how
    # they learned it.
    trust = models.CharField(
        max_length=8, choices=IdentityTrust.choices, default=IdentityTrust.STAFF,
        db_default=IdentityTrust.STAFF,
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                condition=Q(kind__in=["user_id", "anonymous_id"]),
                name="identity_exclusive_owner",
                violation_error_message="This ID already belongs to another person.",
            ),
            models.UniqueConstraint(
                fields=["person", "kind", "value"], name="identity_unique_per_person"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["user_id", "email", "anonymous_id", "phone"]),
                name="identity_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(trust__in=["staff", "verified", "claimed", "typed"]),
                name="identity_trust_valid",
            ),
        ]
        indexes = [models.Index(fields=["kind", "value"], name="identity_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"
