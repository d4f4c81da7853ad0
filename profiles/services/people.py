"""Creating people, and staff edits of a person (admin, shell)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from profiles.models import TRUST_RANK, Identity, IdentityKind, IdentityTrust, Person, PersonStatus
from profiles.naming import friendly_name, new_avatar_seed
from profiles.services.attributes import clean_custom_attributes, custom_part, with_custom
from profiles.services.events import notify_changed
from profiles.services.normalize import normalize_email

STAFF_EDIT = "edited by staff"
# The fields staff edit (the admin form shows exactly these). The others belong to the
# recording path (counters, dates, profiling attributes) or to merges (merged_into, merged_at).
STAFF_FIELDS = ("name", "email", "phone", "user_id", "status", "company", "city", "country",
                "os", "browser", "attributes")


class StaffEditRefused(ValidationError):
    """Nothing was saved. `code`: "stale" (`fields` changed since the page was opened),
    "merged" (the person is a tombstone now: `base` is where it went), "not_editable"."""

    def __init__(self, message: str, *, code: str, fields: list[str] | None = None,
                 base: Person | None = None) -> None:
        super().__init__(message, code=code)
        self.fields = fields or []
        self.base = base


def create_person(
    *,
    user_id: str | None = None,
    email: str = "",
    status: str | None = None,
    rng: random.Random | None = None,
    actor: Any = None,
    **fields: Any,
) -> Person:
    """Create a person; an anonymous one gets a friendly random name and its own avatar.

    Custom `attributes` are checked like every other writer's (profiling keys refused, limits);
    a user ID gets its `user_id` identity, as a staff edit gives it."""
    if "attributes" in fields:
        fields["attributes"] = clean_custom_attributes(fields["attributes"])
    now = timezone.now()
    if status is None:
        status = PersonStatus.USER if email else PersonStatus.VISITOR
    person = Person(
        user_id=(user_id or "").strip() or None,
        email=email,
        status=status,
        avatar_seed=new_avatar_seed(rng),
        created_at=now,
        updated_at=now,
        **fields,
    )
    if not person.name and person.is_anonymous:
        person.name = friendly_name(rng)
    user = _staff_user(actor)
    if user is not None:
        person._history_user = user
    with transaction.atomic():
        person.save()
        if person.user_id:
            _sync_user_id_identity(person, user=user)
        notify_changed([(person, {f.name for f in Person._meta.concrete_fields}, [])])
    return person


def holder_of_user_id(*, user_id: str, excluding: int | None) -> Person | None:
    """The person (other than `excluding`) holding this user ID as an identity: a user ID has
    one owner, whether or not it is that person's `user_id` field, so staff cannot give it to
    someone else."""
    identity = (
        Identity.objects.filter(kind=IdentityKind.USER_ID, value=user_id)
        .exclude(person_id=excluding)
        .select_related("person")
        .first()
    )
    return identity.person if identity else None


def field_label(field: str) -> str:
    """A field as staff know it ("user ID", "custom attributes")."""
    if field == "attributes":
        return "custom attributes"
    return str(Person._meta.get_field(field).verbose_name)


def staff_value(person: Person, field: str) -> Any:
    """A field as staff see and edit it (attributes: the custom ones only)."""
    value = getattr(person, field)
    return custom_part(value) if field == "attributes" else value


def apply_staff_edit(
    *,
    person: Person | int,
    changes: Mapping[str, Any],
    opened: Mapping[str, Any] | None = None,
    actor: Any = None,
    reason: str = STAFF_EDIT,
) -> Person:
    """Save the fields staff changed, and only those, on the live person (locked).

    `changes`: field -> new value, for fields in STAFF_FIELDS (`attributes`: the custom
    attributes; the profiling ones are kept as recorded). `opened`: field -> the value staff
    saw when they opened the page; when a changed field holds another value now (a merge, an
    identify or another staff member changed it meanwhile) nothing is saved
    (StaffEditRefused "stale"). A tombstone is never edited (StaffEditRefused "merged").
    An email set by staff makes the person a user; a user ID gets its `user_id` identity and
    the one it replaced goes. One history row, with who and why — none when nothing changed.
    """
    person_id = person.pk if isinstance(person, Person) else int(person)
    not_editable = sorted(set(changes) - set(STAFF_FIELDS))
    if not_editable:
        raise StaffEditRefused(
            f"Staff cannot edit {', '.join(not_editable)} (kept by merges and the recording "
            "path).", code="not_editable", fields=not_editable)
    with transaction.atomic():
        # The person's own row, FOR UPDATE: a merge (which locks its people the same way)
        # either finished before — then this is a tombstone — or waits for this edit.
        current = Person.objects.select_for_update().get(pk=person_id)
        if current.merged_into_id is not None:
            base = current.merged_into
            raise StaffEditRefused(
                f"Person #{person_id} was merged into {base.display_name} (#{base.pk}); "
                "nothing was saved.", code="merged", base=base)
        stale = [name for name in changes if opened is not None and name in opened
                 and not _same(name, staff_value(current, name), opened[name])]
        if stale:
            raise StaffEditRefused(
                "This person changed since you opened the page — reload it and make your "
                f"change again (changed meanwhile: {', '.join(map(field_label, stale))}).",
                code="stale", fields=stale)
        values = _cleaned(current, changes)
        changed = [name for name, value in values.items() if getattr(current, name) != value]
        if "email" in changed and values["email"].strip() and \
                current.status != PersonStatus.USER:
            values["status"] = PersonStatus.USER
            changed.append("status")
        if not changed:
            return current
        _save(current, {name: values[name] for name in changed}, actor=actor, reason=reason)
        # Segments reading these fields are re-evaluated in this transaction.
        notify_changed([(current, {*changed, "updated_at"}, [])])
    return current


def _same(field: str, now: Any, opened: Any) -> bool:
    """Whether a field still holds what staff saw (a form gives "" for None, strips text)."""
    if field == "attributes":
        return custom_part(now) == custom_part(opened)
    if isinstance(now, str | None) and isinstance(opened, str | None):
        return (now or "").strip() == (opened or "").strip()
    return now == opened


def _cleaned(person: Person, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The new values, checked by the model's own field rules (length, choices) and, for
    custom attributes, by the attributes validation. Raises ValidationError by field."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        try:
            values[name] = _clean_one(person, name, value)
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


def _clean_one(person: Person, name: str, value: Any) -> Any:
    if name == "attributes":
        custom = clean_custom_attributes(value, stored=person.attributes)
        return with_custom(stored=person.attributes, custom=custom)
    if name == "user_id":
        value = (value or "").strip() or None
        if value is not None:
            holder = holder_of_user_id(user_id=value, excluding=person.pk)
            if holder is not None:
                raise ValidationError(f"This user ID already belongs to {holder.display_name} "
                                      f"(#{holder.pk}).")
    elif isinstance(value, str) or value is None:
        value = (value or "").strip()
    field = Person._meta.get_field(name)
    return field.clean(value, person) if value is not None else None


def _save(person: Person, values: dict[str, Any], *, actor: Any, reason: str) -> None:
    for name, value in values.items():
        setattr(person, name, value)
    person.updated_at = timezone.now()
    person._change_reason = reason
    user = _staff_user(actor)
    if user is not None:
        person._history_user = user
    person.save(update_fields=[*values, "updated_at"])
    if "user_id" in values:
        _sync_user_id_identity(person, user=user)
    if values.get("email", "").strip():
        _vouch_for_email(person, user=user)


def _vouch_for_email(person: Person, *, user: Any) -> None:
    """An email staff set is staff's word: the person's identity for that address, when a
    visitor typed it or a site claimed it, now counts as `staff` (the dedup reads the primary
    email's trust from it)."""
    identity = person.identities.filter(
        kind=IdentityKind.EMAIL, value=normalize_email(person.email)).first()
    if identity is None or TRUST_RANK[identity.trust] >= TRUST_RANK[IdentityTrust.STAFF]:
        return
    identity.trust = IdentityTrust.STAFF
    identity._change_reason = f"{STAFF_EDIT} (staff)"
    if user is not None:
        identity._history_user = user
    identity.save(update_fields=["trust"])


def _staff_user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _sync_user_id_identity(person: Person, *, user: Any) -> None:
    """The person's `user_id` identities are exactly its user ID (history rows say who).

    A user ID changed by staff moves its identity: the old one, left behind, would still claim
    that ID (identify and track for the old ID would fail on the unique identity forever)."""
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
