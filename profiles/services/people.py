"""Creating and resolving people."""

from __future__ import annotations

import random
from typing import Any

from django.utils import timezone

from profiles.models import Person, PersonStatus
from profiles.naming import friendly_name, new_avatar_seed


def create_person(
    *,
    user_id: str | None = None,
    email: str = "",
    status: str | None = None,
    rng: random.Random | None = None,
    **fields: Any,
) -> Person:
    """Create a person; an anonymous one gets a friendly random name and its own avatar."""
    now = timezone.now()
    if status is None:
        status = PersonStatus.USER if email else PersonStatus.VISITOR
    person = Person(
        user_id=user_id or None,
        email=email,
        status=status,
        avatar_seed=new_avatar_seed(rng),
        created_at=now,
        updated_at=now,
        **fields,
    )
    if not person.name and person.is_anonymous:
        person.name = friendly_name(rng)
    person.save()
    return person


def resolve_live(person: Person) -> Person:
    """Follow `merged_into` from a tombstone to the live person it was merged into."""
    seen = set()
    while person.merged_into_id is not None and person.pk not in seen:
        seen.add(person.pk)
        person = Person.objects.get(pk=person.merged_into_id)
    return person


def apply_staff_edit(
    *, person: Person, changed_fields: list[str] | None, actor: Any = None
) -> Person:
    """Save a staff edit: an email set by staff makes the person a user; history says who."""
    email_changed = changed_fields is None or "email" in changed_fields
    if email_changed and person.email.strip():
        person.status = PersonStatus.USER
    person.updated_at = timezone.now()
    person._change_reason = "edited by staff"
    if actor is not None and getattr(actor, "is_authenticated", False):
        person._history_user = actor
    person.save()
    return person
