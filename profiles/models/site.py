from __future__ import annotations

from django.db import models
from django.utils import timezone


class Site(models.Model):
    """A customer website allowed to write through the HTTP API with its write key."""

    name = models.CharField(max_length=200)
    # The key is shown once at creation; only its prefix (to find it) and hash are kept.
    key_prefix = models.CharField(max_length=16, unique=True, blank=True)
    key_hash = models.CharField(max_length=128, blank=True)
    # Secret for identity verification (HMAC of the user ID), optional per site.
    verification_secret = models.CharField(max_length=128, blank=True)
    require_identity_verification = models.BooleanField(default=False)
    allowed_origins = models.TextField(
        blank=True, help_text="One origin per line, e.g. https://shop.example.com"
    )
    rate_limit_per_minute = models.PositiveIntegerField(default=6000)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def origins(self) -> list[str]:
        return [line.strip() for line in self.allowed_origins.splitlines() if line.strip()]
