"""The website API's own records: events accepted but not recorded, counted per site."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from profiles.models import Site


class RejectedEvent(models.Model):
    """How many events a site sent that the API answered as accepted (as the Segment tracking
    API does) but could not record, per reason in plain words, so that a 200 never drops data
    without a trace. Shown on the site's admin page."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rejected_events")
    reason = models.CharField(max_length=255)
    count = models.PositiveBigIntegerField(default=0)
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_at"]
        constraints = [
            models.UniqueConstraint(fields=["site", "reason"], name="rejected_event_per_reason")
        ]

    def __str__(self) -> str:
        return f"{self.count} × {self.reason}"
