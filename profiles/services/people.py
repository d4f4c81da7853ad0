"""Creating and resolving people."""

from __future__ import annotations

import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from profiles.models import Identity, IdentityKind, Person, PersonStatus
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


STAFF_EDIT = "edited by staff"


def holder_of_user_id(*, user_id: str, excluding: int | None) -> Person | None:
    """The person (other than `excluding`) holding this user ID as an identity: a user ID has
    one owner, whether or not it is that person's `user_id` field (the identity admin can add
    one), so staff cannot give it to someone else."""
    identity = (
        Identity.objects.filter(kind=IdentityKind.USER_ID, value=user_id)
        .exclude(person_id=excluding)
        .select_related("person")
        .first()
    )
    return identity.person if identity else None


def apply_staff_edit(
    *, person: Person, changed_fields: list[str] | None, actor: Any = None
) -> Person:
    """Save a staff edit: an email set by staff makes the person a user; history says who.

    A user ID set or changed by staff gets its `user_id` identity, and the identity of the ID
    it replaced goes: left behind, it would still claim that ID (identify and track for the
    old ID would then fail on the unique identity forever instead of starting a profile)."""
    email_changed = changed_fields is None or "email" in changed_fields
    user_id_changed = changed_fields is None or "user_id" in changed_fields
    if email_changed and person.email.strip():
        person.status = PersonStatus.USER
    if user_id_changed and person.user_id is not None:
        person.user_id = person.user_id.strip() or None
    person.updated_at = timezone.now()
    person._change_reason = STAFF_EDIT
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if user is not None:
        person._history_user = user
    with transaction.atomic():
        person.save()
        if user_id_changed:
            _sync_user_id_identity(person, user=user)
    return person



def _sync_user_id_identity(person: Person, *, user: Any) -> None:
    """The person's `user_id` identities are exactly its user ID (history rows say who)."""
    held = list(person.identities.filter(kind=IdentityKind.USER_ID))
    for identity in held:
        if identity.value != person.user_id:
            identity._change_reason = STAFF_EDIT
            if user is not None:
                identity._history_user = user
            identity.delete()
    if person.user_id and not any(identity.value == person.user_id for identity in held):
        identity = Identity(person=person, original_person=person,
                            kind=IdentityKind.USER_ID, value=person.user_id)
        identity._change_reason = STAFF_EDIT
        if user is not None:
            identity._history_user = user
        identity.save(force_insert=True)
