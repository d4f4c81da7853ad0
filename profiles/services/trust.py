"""How far a caller vouched for the IDs it names, and who is protected from unproven claims.

docs/rules.md, "Trust in an email and a user ID". Every identity records how it was learned
(`Identity.trust`: staff, verified, claimed, typed). A person one of whose user IDs or emails
was ever verified is **protected**: only a call carrying a valid HMAC, or staff, may speak for
them, through any site. A call without proof never reaches them: it is recorded on the
caller's own device profile instead, and the answer is the same as for anyone else's, so it
tells nobody who is protected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from profiles.models import Identity, IdentityKind, IdentityTrust, Person
from profiles.services.recording_sql import emails_held_by_protected, protected_user_ids


@dataclass(frozen=True)
class Proof:
    """What vouches for a call's IDs: a valid `user_hash` of its user ID, a valid `email_hash`
    of its email, or staff (the Python API, the admin, import) who need none."""

    user_id: bool = False
    email: bool = False
    staff: bool = False

    @property
    def vouches_for_user_id(self) -> bool:
        return self.staff or self.user_id


NO_PROOF = Proof()
STAFF = Proof(staff=True)


def user_id_trust(proof: Proof) -> str:
    """The trust of a user ID identity the call creates."""
    if proof.staff:
        return IdentityTrust.STAFF
    return IdentityTrust.VERIFIED if proof.user_id else IdentityTrust.CLAIMED


def vouches_for_identify(proof: Proof, *, user_id: str | None) -> bool:
    """Whether an identify is proven: its user ID's hash, or (without a user ID) its email's."""
    return proof.staff or (proof.user_id if user_id else proof.email)


def email_trust(proof: Proof, *, email: str, owner_id: int | None) -> str:
    """The trust of an email identify gives `owner_id`'s profile (`email` normalized).

    Unproven, it is the site's word (`claimed`), unless a protected person other than the
    owner holds that address: then it is no more than something typed (`typed`), which the
    scheduled dedup never merges into or under a protected profile.
    """
    if proof.staff:
        return IdentityTrust.STAFF
    if proof.email:
        return IdentityTrust.VERIFIED
    if emails_held_by_protected([email], excluding=owner_id):
        return IdentityTrust.TYPED
    return IdentityTrust.CLAIMED


def shielded_user_ids(user_ids: Sequence[str]) -> set[str]:
    """Which of these user IDs belong to a protected person (one statement)."""
    return protected_user_ids(sorted(set(user_ids))) if user_ids else set()


# A device ID of our own for calls that name a protected user ID without proof and no device:
# they are kept together on one anonymous profile (for staff to look at) instead of the user's.
UNPROVEN_PREFIX = "unverified-user-id:"


def unproven_device_id(user_id: str) -> str:
    value = UNPROVEN_PREFIX + user_id
    if len(value) <= 255:
        return value
    return UNPROVEN_PREFIX + "sha256:" + hashlib.sha256(user_id.encode()).hexdigest()


def key_for_event(
    *, user_id: str | None, anonymous_id: str | None, proof: Proof, shielded: set[str]
) -> tuple[str, str]:
    """The (kind, value) an event is recorded under: its user ID, unless that belongs to a
    protected person and the event does not prove it; then its device (or the unproven
    claims' device of that user ID)."""
    if user_id and (proof.vouches_for_user_id or user_id not in shielded):
        return IdentityKind.USER_ID, user_id
    if anonymous_id:
        return IdentityKind.ANONYMOUS_ID, anonymous_id
    return IdentityKind.ANONYMOUS_ID, unproven_device_id(user_id or "")


# --- Reading trust set-based (the scheduled dedup) ----------------------------------------------


def with_email_trust(people: QuerySet[Person]) -> QuerySet[Person]:
    """`people` annotated with `email_trust`: the trust of the primary email, which is the
    trust of the person's email identity with that address; `staff` when there is none (only
    staff, the shell and import set an email without recording its identity). One index
    look-up per person (identity_unique_per_person), so it reads a million people set-based.
    The same in SQL: EMAIL_TRUST_SQL with the person's table aliased `p`."""
    trust = Identity.objects.filter(
        person=OuterRef("pk"), kind=IdentityKind.EMAIL, value=OuterRef("email_normalized")
    ).values("trust")[:1]
    return people.annotate(email_trust=Coalesce(Subquery(trust), Value(IdentityTrust.STAFF)))


EMAIL_TRUST_SQL = (
    f"COALESCE((SELECT i.trust FROM {Identity._meta.db_table} i WHERE i.person_id = p.id "
    f"AND i.kind = '{IdentityKind.EMAIL}' AND i.value = p.email_normalized), "
    f"'{IdentityTrust.STAFF}')"
)
