"""Finding (or creating) the live person behind an ID, locked, and retrying lost races.

Every website write (identify, track, chat) locks the live person row before it writes, so a
merge running at the same moment either finishes first (and the write follows the tombstone to
the base) or waits for the write (and then moves the new row with the rest).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from django.db import IntegrityError, OperationalError, transaction

from profiles.models import TRUST_RANK, Identity, IdentityKind, IdentityTrust, Person
from profiles.services.errors import BUSY, ServiceError
from profiles.services.recording_sql import (
    lock_people_by_ids,
    lock_person_by_anonymous_id,
    lock_person_by_user_id,
    owners_of_keys,
)
from profiles.services.recording_writes import create_person_with_identities
from profiles.services.tombstones import resolve_live
from profiles.services.trust import (
    STAFF,
    Proof,
    key_for_event,
    shielded_user_ids,
    user_id_trust,
)
from profiles.services.validation import InvalidInput

T = TypeVar("T")
RETRY_ATTEMPTS = 5
_retrying: ContextVar[bool] = ContextVar("onefold_retrying", default=False)


def is_retry() -> bool:
    """True inside atomic_with_retry's second and later attempts (a race was lost)."""
    return _retrying.get()


class ConflictError(ServiceError):
    """A race that kept being lost after several retries (code `busy`: the same call may
    succeed later; nothing was written)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(None, "a concurrent write to the same people kept winning; try again",
                         code=BUSY)
        self.detail = detail


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # a unique race: another request created the same person or event first
    cause = getattr(exc, "__cause__", None)
    name = type(cause).__name__ if cause else ""
    text = str(exc).lower()
    return name in {"DeadlockDetected", "SerializationFailure"} or "database is locked" in text


def atomic_with_retry(work: Callable[[], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
    """Run `work` in a transaction (a savepoint when nested); redo it when it lost a race.

    A unique-constraint race (two requests creating the person for one new ID) or a deadlock
    rolls back only this unit; the retry then finds what the winner committed.
    """
    for attempt in range(attempts):
        token = _retrying.set(attempt > 0 or _retrying.get())
        try:
            with transaction.atomic():
                return work()
        except (IntegrityError, OperationalError) as exc:
            if not _retryable(exc):
                raise  # e.g. the database is down: not a race (the API answers 503)
            if attempt == attempts - 1:
                raise ConflictError(str(exc)) from exc
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        finally:
            _retrying.reset(token)
    raise AssertionError("unreachable")


def lock_live(person_id: int) -> Person:
    """Lock a person row; when it is a tombstone, follow `merged_into` and lock the base."""
    return resolve_live(person_id, lock=True)


def _live(person: Person | None) -> Person | None:
    """`person` (found and locked) if live, else its live base, locked."""
    if person is None or person.merged_into_id is None:
        return person
    return resolve_live(person.merged_into_id, lock=True)


def find_by_user_id(user_id: str) -> Person | None:
    """The live person with this user ID, locked."""
    return _live(lock_person_by_user_id(user_id))


def find_by_anonymous_id(anonymous_id: str) -> Person | None:
    """The live person this device ID resolves to (through tombstones), locked."""
    return _live(lock_person_by_anonymous_id(anonymous_id))


def add_identity(person: Person, *, kind: str, value: str, reason: str, trust: str) -> Identity:
    """Record an identity on its first owner (idempotent per person), with a history row
    saying why; learned again with a stronger trust (TRUST_RANK), it keeps the stronger one.

    The caller holds the person's lock, so only an exclusive identity (device, user ID) that
    another person took first can collide: it fails the unique constraint, and the caller's
    atomic_with_retry rolls the unit back and redoes it (no savepoint, as get_or_create takes).
    """
    identity = Identity.objects.filter(person=person, kind=kind, value=value).first()
    if identity is None:
        identity = Identity(person=person, original_person=person, kind=kind, value=value,
                            trust=trust)
        identity._change_reason = reason
        identity.save(force_insert=True)
    elif TRUST_RANK[trust] > TRUST_RANK[identity.trust]:
        identity.trust = trust
        identity._change_reason = f"{reason} ({trust})"
        identity.save(update_fields=["trust"])
    return identity


def create_identified(
    *, user_id: str, anonymous_id: str | None = None, trust: str = IdentityTrust.STAFF
) -> Person:
    """A new person for a user ID never seen before (the unique constraints guard races);
    `trust` is how the user ID was learned."""
    identities = [(IdentityKind.USER_ID, user_id, trust)]
    if anonymous_id:
        identities.append((IdentityKind.ANONYMOUS_ID, anonymous_id, IdentityTrust.CLAIMED))
    return create_person_with_identities(identities=identities, user_id=user_id)


def create_anonymous(*, anonymous_id: str) -> Person:
    """First contact from a device: a visitor with a friendly name, avatar and ID number."""
    return create_person_with_identities(
        identities=[(IdentityKind.ANONYMOUS_ID, anonymous_id, IdentityTrust.CLAIMED)]
    )


def person_for_event(
    *, anonymous_id: str | None, user_id: str | None, proof: Proof = STAFF
) -> Person:
    """The live, locked person an event belongs to, created on first contact.

    A user ID wins over the device ID (stitching the two is identify's job, not track's),
    unless it belongs to a protected person and `proof` does not vouch for it: then the event
    is the device's (trust.key_for_event).
    """
    if user_id and not proof.vouches_for_user_id:
        kind, value = key_for_event(user_id=user_id, anonymous_id=anonymous_id, proof=proof,
                                    shielded=shielded_user_ids([user_id]))
        return person_for_key(kind, value, proof=proof)
    if user_id:
        return person_for_key(IdentityKind.USER_ID, user_id, proof=proof)
    if not anonymous_id:
        raise InvalidInput("anonymous_id", "an anonymous_id or a user_id is required")
    return person_for_key(IdentityKind.ANONYMOUS_ID, anonymous_id, proof=proof)


def person_for_key(kind: str, value: str, *, proof: Proof) -> Person:
    """The live, locked person behind one (user_id | anonymous_id, value), created if new."""
    if kind == IdentityKind.USER_ID:
        return find_by_user_id(value) or create_identified(
            user_id=value, trust=user_id_trust(proof)
        )
    return find_by_anonymous_id(value) or create_anonymous(anonymous_id=value)


def people_for_events(keys: dict[tuple[str, str], Proof]) -> dict[tuple[str, str], Person]:
    """The live, locked person of each ("user_id" | "anonymous_id", value) key, for a batch
    (keys already chosen by trust.key_for_event; the proof gives a new user ID its trust).

    Two queries find and lock every known person (in id order, so concurrent batches queue
    instead of deadlocking); people met for the first time are then created one by one.
    Keys that resolve to one person share one Person object.
    """
    owners = owners_of_keys(
        user_ids=sorted({value for kind, value in keys if kind == IdentityKind.USER_ID}),
        anonymous_ids=sorted({value for kind, value in keys if kind == IdentityKind.ANONYMOUS_ID}),
    )
    locked = lock_people_by_ids(sorted(set(owners.values())))
    found: dict[tuple[str, str], Person] = {}
    for key in sorted(keys):
        person = locked.get(owners.get(key, -1))
        if person is None or person.merged_into_id is not None:
            # Unknown, or merged since the lookup: resolve it the exact way.
            person = person_for_key(*key, proof=keys[key])
        found[key] = locked.setdefault(person.pk, person)
    return found
