"""Enrichment: fill a profile from outside sources once its email is known. Off by default.

A deployment sets `ONEFOLD_ENRICHMENT_PROVIDER` to the dotted path of a class whose instances
have `enrich(*, email: str) -> dict` returning person fields (name, company, city, country,
phone) and/or an "attributes" dict (e.g. social profiles). Only empty fields and missing
attribute keys are filled: what the person or staff entered always wins.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from profiles.models import Person
from profiles.services.events import notify_changed
from profiles.services.resolution import lock_live
from profiles.services.tombstones import resolve_live

logger = logging.getLogger(__name__)
ENRICHABLE_FIELDS = ("name", "company", "city", "country", "phone")


class EnrichmentProvider(Protocol):
    def enrich(self, *, email: str) -> dict[str, Any]: ...


def get_provider() -> EnrichmentProvider | None:
    path = getattr(settings, "ONEFOLD_ENRICHMENT_PROVIDER", "")
    return import_string(path)() if path else None


def enrich_person(*, person_id: int) -> bool:
    """Ask the provider about the person's email and fill what is missing; True if changed.

    Runs after the transaction that learned the email has committed, so a slow or failing
    provider never holds locks or loses the message that carried the email.
    """
    provider = get_provider()
    if provider is None:
        return False
    person = _live(person_id)  # merged before this ran (e.g. identify in the same batch)
    if person is None or not person.email:
        return False
    try:
        found = provider.enrich(email=person.email) or {}
    except Exception:  # an outside service must never break ingestion
        logger.exception("enrichment provider failed for person %s", person_id)
        return False
    return _fill(person_id=person.pk, found=found)


def _live(person_id: int) -> Person | None:
    """The person, or the live profile its merges lead to (None if it was deleted)."""
    try:
        return resolve_live(person_id)
    except Person.DoesNotExist:
        return None


def _fill(*, person_id: int, found: dict[str, Any]) -> bool:
    with transaction.atomic():
        person = lock_live(person_id)  # merged meanwhile: the base gets what was found
        changed = [
            name
            for name in ENRICHABLE_FIELDS
            if not getattr(person, name) and isinstance(found.get(name), str) and found[name]
        ]
        for name in changed:
            setattr(person, name, found[name][: Person._meta.get_field(name).max_length])
        extra = found.get("attributes")
        if isinstance(extra, dict):
            missing = {k: v for k, v in extra.items() if k not in (person.attributes or {})}
            if missing:
                person.attributes = {**(person.attributes or {}), **missing}
                changed.append("attributes")
        if not changed:
            return False
        person._change_reason = "enrichment"
        person.save(update_fields=changed)
        notify_changed([(person, set(changed), [])])  # segments reading what was found
        return True
