"""Events a Segment client sent that were answered as accepted but not recorded: counted.

The Segment tracking API answers 200 for a message it cannot use (no user or anonymous ID, a
placeholder ID...), and its clients drop it; Onefold does the same but counts each one per site
and reason (api.models.RejectedEvent), shown on the site's admin page.
"""

from __future__ import annotations

from collections import Counter

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from api.models import RejectedEvent
from profiles.models import Site

# Reasons name a field and what is wrong with it; a few quote the value (a placeholder ID),
# so a hostile sender could invent new ones at will: past this many a site's further
# reasons are counted together.
MAX_REASONS_PER_SITE = 100
OTHER_REASONS = "other reasons (this site already has 100 different reasons counted)"
MAX_REASON_LENGTH = RejectedEvent._meta.get_field("reason").max_length


def count_rejected(*, site: Site, reasons: Counter[str]) -> None:
    """Add `reasons` (reason -> events) to the site's counters, in one transaction, in a
    stable order (two requests counting the same reasons queue instead of deadlocking)."""
    if not reasons:
        return
    now = timezone.now()
    with transaction.atomic():
        for reason, events in sorted(reasons.items()):
            reason = reason[:MAX_REASON_LENGTH]
            if _add(site, reason, events, now):
                continue
            known = RejectedEvent.objects.filter(site=site).count()
            if known >= MAX_REASONS_PER_SITE:
                reason = OTHER_REASONS
                if _add(site, reason, events, now):
                    continue
            try:
                with transaction.atomic():  # a savepoint: another request may create it first
                    RejectedEvent.objects.create(site=site, reason=reason, count=events,
                                                 first_at=now, last_at=now)
            except IntegrityError:
                _add(site, reason, events, now)


def _add(site: Site, reason: str, events: int, now) -> bool:
    return bool(
        RejectedEvent.objects.filter(site=site, reason=reason)
        .update(count=F("count") + events, last_at=now)
    )
