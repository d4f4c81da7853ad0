"""identify(): a visitor logs in or signs up — stitch the device's profile to the user's.

docs/rules.md, Identify. The device's anonymous profile is merged into the user's live profile
(through the merge engine, reason "identify"), or promoted to be the user's profile when the user
is new. Two different user IDs are never merged: a device already used by another user (a shared
computer) is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.utils import timezone

from profiles.models import ActivityKind, IdentityKind, IdentityTrust, Person, PersonStatus, Site
from profiles.services.attributes import clean_custom_attributes, custom_part, with_traits
from profiles.services.events import Event, message_digest, record_events_with_edit
from profiles.services.merging import merge_people
from profiles.services.normalize import normalize_email
from profiles.services.recording_sql import activity_by_digest, protected_people
from profiles.services.resolution import (
    add_identity,
    atomic_with_retry,
    create_anonymous,
    create_identified,
    find_by_anonymous_id,
    find_by_user_id,
    is_retry,
    lock_live,
    person_for_key,
)
from profiles.services.trust import (
    NO_PROOF,
    STAFF,
    Proof,
    email_trust,
    unproven_device_id,
    user_id_trust,
    vouches_for_identify,
)
from profiles.services.validation import (
    InvalidInput,
    clean_email,
    clean_id,
    clean_message_id,
    clean_object,
)

# Why identify changed a person or an identity (their history rows' change reason).
REASON_TRAITS = "identify: traits from the website"
REASON_PROMOTED = "identify: anonymous profile promoted to user"

# Traits that are person fields (which ones is the product's choice); every other trait is a
# custom attribute. Their maximum lengths are the model's.
TRAIT_FIELDS = ("name", "phone", "company", "city", "country", "os", "browser")
FIELD_TRAITS = {name: Person._meta.get_field(name).max_length for name in TRAIT_FIELDS}


@dataclass(frozen=True)
class IdentifyInput:
    anonymous_id: str | None
    user_id: str | None
    email: str | None
    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    message_digest: str | None = None  # what makes a resend the same identify
    # What vouches for the user ID and email: nothing until the caller says (the website API
    # from its hashes, the Python API staff).
    proof: Proof = NO_PROOF


def clean_identify(
    *,
    anonymous_id: Any = None,
    user_id: Any = None,
    email: Any = None,
    traits: Any = None,
    message_id: Any = None,
) -> IdentifyInput:
    """Validate an identify call; raises InvalidInput naming the field."""
    anonymous_id = clean_id("anonymous_id", anonymous_id)
    user_id = clean_id("user_id", user_id)
    traits = dict(clean_object("traits", traits))
    if email is None and "email" in traits:
        email, field_name = traits.pop("email"), "traits.email"
    else:
        traits.pop("email", None)
        field_name = "email"
    email = clean_email(field_name, email)
    if not user_id and not (anonymous_id and email):
        raise InvalidInput("user_id", "is required (or an anonymous_id with an email)")
    for reserved in ("user_id", "anonymous_id"):
        if reserved in traits:
            raise InvalidInput(f"traits.{reserved}", "is not a trait: send it at the top level")
    fields: dict[str, str] = {}
    for name, max_length in FIELD_TRAITS.items():
        if name in traits:
            value = traits.pop(name)
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"traits.{name}", "must be a string")
            if value and len(value) > max_length:
                raise InvalidInput(f"traits.{name}", f"must be at most {max_length} characters")
            if value and value.strip():
                fields[name] = value.strip()
    message_id = clean_message_id(message_id)
    attributes = clean_custom_attributes(traits, field="traits")
    return IdentifyInput(
        anonymous_id=anonymous_id, user_id=user_id, email=email, fields=fields,
        attributes=attributes, message_id=message_id,
        message_digest=message_digest(
            message_id, "identify", user_id, anonymous_id, email, fields, attributes
        ),
    )


def identify(
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    email: str | None = None,
    traits: dict[str, Any] | None = None,
    site: Site | None = None,
    message_id: str | None = None,
) -> Person:
    """Identify the visitor behind `anonymous_id` as `user_id`; returns the live person.

    A `message_id` seen before (a resent identify) changes nothing and returns the live person
    it identified.
    """
    data = replace(
        clean_identify(
            anonymous_id=anonymous_id, user_id=user_id, email=email, traits=traits,
            message_id=message_id,
        ),
        proof=STAFF,  # the Python API is staff's: it may speak for anyone
    )
    return atomic_with_retry(lambda: identify_in_transaction(data, site=site))


def identify_in_transaction(data: IdentifyInput, *, site: Site | None) -> Person:
    """The identify rules, in the caller's transaction (the batch endpoint shares one)."""
    # Only when a race was lost: a resend runs once, then its identify activity fails the
    # unique message digest, and the retry finds the first copy here (no query on every one).
    if data.message_digest and is_retry():
        resent = _identified_before(data.message_digest, site=site)
        if resent is not None:
            return resent
    device = find_by_anonymous_id(data.anonymous_id) if data.anonymous_id else None
    promoted: list[str] = []
    user = find_by_user_id(data.user_id) if data.user_id else None
    # Without proof, who among the people it names is protected (one statement).
    shielded = set() if vouches_for_identify(data.proof, user_id=data.user_id) else (
        protected_people([known.pk for known in (device, user) if known is not None])
    )
    claimed_in_vain = user is not None and user.pk in shielded
    if claimed_in_vain:
        # The user ID was verified once: without its hash this call cannot speak for that
        # user, whatever site it comes through. It stays the caller's own device's identify
        # (answered like any other, so it tells nobody that the ID is someone's).
        person = device or person_for_key(
            IdentityKind.ANONYMOUS_ID, data.anonymous_id or unproven_device_id(data.user_id),
            proof=data.proof,
        )
    elif data.user_id:
        person, promoted = _person_for_user(
            data, device, user, device_shielded=device is not None and device.pk in shielded
        )
    else:
        person = device or create_anonymous(anonymous_id=data.anonymous_id)
    # A promotion and the traits are one change: one UPDATE and one history row.
    edited = _apply_profile(person, data, changed=promoted, guarded=person.pk in shielded,
                            attached_user_id=bool(data.user_id) and not claimed_in_vain)
    record_events_with_edit(
        person=person,
        events=[
            Event(
                kind=ActivityKind.IDENTIFY,
                occurred_at=timezone.now(),
                properties={
                    key: value
                    for key, value in (
                        ("claimed_user_id" if claimed_in_vain else "user_id", data.user_id),
                        ("anonymous_id", data.anonymous_id),
                        ("email", data.email),
                    )
                    if value
                },
                message_id=data.message_id,
                message_digest=data.message_digest,
            )
        ],
        site=site,
        edited=edited,
        reason=REASON_PROMOTED if promoted else REASON_TRAITS,
    )
    return person


def _identified_before(digest: str, *, site: Site | None) -> Person | None:
    """The live person a resent identify already identified, locked; None if it is new."""
    recorded = activity_by_digest(digest, site_id=site.pk if site else None)
    return lock_live(recorded.person_id) if recorded is not None else None


def _person_for_user(
    data: IdentifyInput, device: Person | None, user: Person | None, *, device_shielded: bool
) -> tuple[Person, list[str]]:
    """The user's live person (`user`, found by its user ID, or None when new), and the
    fields a promotion changed in memory (saved by the caller with the traits).

    A verified person's device (`device_shielded`: protected, and this call unproven) is not
    given a user ID, or merged into one: it is left as it is, as a device another user logged
    in on."""
    trust = user_id_trust(data.proof)
    device_free = device is not None and not device.user_id and not device_shielded
    if user is None:
        if device_free:
            return device, _promote(device, user_id=data.user_id, trust=trust)
        # A new device (or one a different user logged in on): a new profile for this user.
        fresh_device = data.anonymous_id if device is None else None
        return create_identified(user_id=data.user_id, anonymous_id=fresh_device,
                                 trust=trust), []
    if data.proof.user_id:  # proven by its hash now: the user is protected from here on
        add_identity(user, kind=IdentityKind.USER_ID, value=data.user_id, trust=trust,
                     reason="identify: user ID proven by its user_hash")
    if device is None and data.anonymous_id:
        add_identity(user, kind=IdentityKind.ANONYMOUS_ID, value=data.anonymous_id,
                     trust=IdentityTrust.CLAIMED, reason="identify: a new device of the user")
    elif device_free and device.pk != user.pk:
        # The merge adds up each device's profiling (its field rules); the journal's base is
        # the row as the merge stored it (counters, fields).
        user = merge_people(base=user, others=[device], reason="identify").base
    # Otherwise the device belongs to another user (a shared computer): it is left as it is.
    return user, []


def _promote(person: Person, *, user_id: str, trust: str) -> list[str]:
    """The anonymous profile becomes the user's: the user ID is set in memory (status and
    updated_at follow in _apply_profile; the caller saves them all with one history row).
    The unique constraints still guard a race: a concurrent promotion to the same new user
    fails on the user ID identity or the live user ID, and atomic_with_retry redoes the unit."""
    person.user_id = user_id
    add_identity(person, kind=IdentityKind.USER_ID, value=user_id, reason=REASON_PROMOTED,
                 trust=trust)
    return ["user_id"]


def _apply_profile(
    person: Person, data: IdentifyInput, *, changed: list[str], guarded: bool,
    attached_user_id: bool
) -> list[str]:
    """Email, status and traits from the website, set in memory; returns the fields changed
    (`changed`: those the caller already changed), saved with the identify activity's
    counters, with a history row.

    `guarded`: the call does not prove itself and the person is protected, so it never
    overwrites: it fills what is empty, and its email becomes one more identity.
    """
    changed = list(changed)

    def assign(name: str, value: Any) -> None:
        if guarded and getattr(person, name):
            return
        if getattr(person, name) != value:
            setattr(person, name, value)
            changed.append(name)

    email_counts = False
    if data.email:
        email = normalize_email(data.email)
        trust = email_trust(data.proof, email=email, owner_id=person.pk)
        add_identity(person, kind=IdentityKind.EMAIL, value=email, trust=trust,
                     reason="identify: email from the website")
        # Someone else's proven address, unproven here, is no more than a line typed in a
        # chat: it does not make the caller a user (nor, for the dedup, a match).
        email_counts = trust != IdentityTrust.TYPED
        if email_counts or not person.email:
            assign("email", data.email)
    if email_counts or attached_user_id:
        assign("status", PersonStatus.USER)  # identified through the website API
    for name, value in data.fields.items():
        assign(name, value)
    if data.attributes:
        if guarded:  # only the keys it does not have yet
            held = custom_part(person.attributes)
            traits = {key: value for key, value in data.attributes.items() if key not in held}
        else:
            traits = data.attributes
        merged = with_traits(stored=person.attributes, traits=traits)
        if merged != person.attributes:
            person.attributes = merged
            changed.append("attributes")
    if changed:
        person.updated_at = timezone.now()
        changed.append("updated_at")
    return changed
