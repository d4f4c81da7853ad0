"""Who merges with whom in a duplicate group (docs/dedup.md, "Who merges").

A same-email group is decided in three steps, for a whole chunk with one query:

1. **Kept apart**: the group splits around its "not the same person" marks, greedily in rank
   order (the merge's base order): each member joins the first part holding nobody it is kept
   apart from, or starts a new part. Every part of two or more people goes on.
2. **Conflict**: a part holding different user IDs is not merged at all.
3. **Typed email**: in a part, a member whose email is only `typed` (written in chat) is left
   out when another member holds a user ID, is a user, or holds a `staff` or `verified` email
   (issue: a visitor writing a customer's address in chat must not be merged into that
   customer, nor take a lead's history by being a user). It is listed as "needs review" with
   the evidence; the rest of the part merges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dedup.models import DedupConflict, DedupRun, ReviewKind
from dedup.services.marks import Pair, kept_apart_pairs
from profiles.models import IdentityTrust, Person, PersonStatus
from profiles.services.merging import choose_base, json_value, rank_key, rule_text

Groups = list[tuple[str, list[Person]]]
PROVEN_TRUST = frozenset({IdentityTrust.STAFF, IdentityTrust.VERIFIED})


@dataclass(frozen=True)
class Group:
    email: str
    base: Person
    others: list[Person]


@dataclass
class Decided:
    """A chunk's groups decided: the parts to merge, and what the report and staff are told
    about the rest (conflicts, people left out for review, groups split by marks)."""

    mergeable: Groups = field(default_factory=list)
    report: list[dict] = field(default_factory=list)
    conflicts: list[DedupConflict] = field(default_factory=list)
    reviews: list[DedupConflict] = field(default_factory=list)
    kept_apart: int = 0  # groups split around marks


def trust_of(person: Person) -> str:
    """The primary email's trust (annotated by detection.group_members; staff if not)."""
    return getattr(person, "email_trust", None) or IdentityTrust.STAFF


def is_typed(person: Person) -> bool:
    return trust_of(person) == IdentityTrust.TYPED


def vouches(person: Person) -> bool:
    """Holds something a typed email must not be merged with: a user ID, the user status, or
    an email that staff set or the customer's server verified."""
    return bool(person.user_id) or person.status == PersonStatus.USER \
        or trust_of(person) in PROVEN_TRUST


def split_apart(people: Sequence[Person], pairs: set[Pair]) -> list[list[Person]]:
    """The parts of a group around its kept-apart pairs, greedily in rank order."""
    parts: list[list[Person]] = []
    for person in sorted(people, key=rank_key):
        for part in parts:
            if not any(frozenset((person.pk, member.pk)) in pairs for member in part):
                part.append(person)
                break
        else:
            parts.append([person])
    return parts


def left_out_typed(part: Sequence[Person]) -> list[Person]:
    """The part's typed members that another member's proof keeps out of the merge."""
    return [p for p in part if is_typed(p) and any(vouches(q) for q in part if q.pk != p.pk)]


def decide_groups(*, run: DedupRun, groups: Groups) -> Decided:
    """Decide every group of a chunk (one query: the marks among its people)."""
    pairs = kept_apart_pairs(p.pk for _, people in groups for p in people)
    marked = {pk for pair in pairs for pk in pair}
    decided = Decided()
    for email, people in groups:
        split = sum(p.pk in marked for p in people) > 1  # most groups hold no mark
        parts = split_apart(people, pairs) if split else [list(people)]
        if len(parts) > 1:
            decided.kept_apart += 1
            decided.report.append(kept_apart_entry(email, people, parts, pairs))
        for part in parts:
            if len(part) > 1:
                _decide_part(run, email, part, decided)
    return decided


def _decide_part(run: DedupRun, email: str, part: list[Person], decided: Decided) -> None:
    if len({p.user_id for p in part if p.user_id}) > 1:
        decided.conflicts.append(conflict_row(run, email, part))
        decided.report.append(conflict_entry(email, part))
        return
    left_out = left_out_typed(part)
    if left_out:
        decided.reviews.append(review_row(run, email, part, left_out))
        decided.report.append(review_entry(email, part, left_out))
    rest = [p for p in part if p not in left_out]
    if len(rest) > 1:
        decided.mergeable.append((email, rest))


def split(email: str, people: list[Person]) -> Group | None:
    """The group's base and others, or None when it holds different user IDs (a conflict)."""
    if len({p.user_id for p in people if p.user_id}) > 1:
        return None
    base = choose_base(people)
    others = sorted((p for p in people if p.pk != base.pk), key=rank_key)
    return Group(email, base, others)


def _user_ids(people: Sequence[Person]) -> list[str]:
    return sorted({p.user_id for p in people if p.user_id})


def evidence(people: Sequence[Person]) -> list[dict]:
    """What staff need to judge: each member's email, how it was learned, user ID, status."""
    return [
        {"person": p.pk, "email": p.email, "trust": trust_of(p), "user_id": p.user_id or "",
         "status": p.status}
        for p in sorted(people, key=lambda p: p.pk)
    ]


def conflict_row(run: DedupRun, email: str, people: list[Person]) -> DedupConflict:
    return DedupConflict(
        run=run, kind=ReviewKind.USER_IDS, email_normalized=email,
        person_ids=sorted(p.pk for p in people), user_ids=_user_ids(people),
        evidence=evidence(people),
    )


def review_row(run: DedupRun, email: str, part: list[Person], left_out: list[Person]
               ) -> DedupConflict:
    return DedupConflict(
        run=run, kind=ReviewKind.TYPED_EMAIL, email_normalized=email,
        person_ids=sorted(p.pk for p in part), user_ids=_user_ids(part),
        left_out=sorted(p.pk for p in left_out), evidence=evidence(part),
    )


def conflict_entry(email: str, people: list[Person]) -> dict:
    return {
        "email": email,
        "outcome": "conflict",
        "base": None,
        "merged": [],
        "people": sorted(p.pk for p in people),
        "user_ids": _user_ids(people),
    }


def review_entry(email: str, part: list[Person], left_out: list[Person]) -> dict:
    return {
        "email": email, "outcome": "needs review", "base": None, "merged": [],
        "people": sorted(p.pk for p in part), "user_ids": _user_ids(part),
        "left_out": sorted(p.pk for p in left_out), "evidence": evidence(part),
    }


def kept_apart_entry(email: str, people: Sequence[Person], parts: list[list[Person]],
                     pairs: set[Pair]) -> dict:
    ids = {p.pk for p in people}
    return {
        "email": email, "outcome": "kept apart", "base": None, "merged": [],
        "people": sorted(ids), "user_ids": _user_ids(people),
        "parts": [sorted(p.pk for p in part) for part in parts],
        "pairs": sorted(sorted(pair) for pair in pairs if pair <= ids),
    }


def merge_entry(group: Group, *, outcome: str, record_id: int | None = None) -> dict:
    return {
        "email": group.email,
        "outcome": outcome,
        "base": group.base.pk,
        "merged": [p.pk for p in group.others],
        "people": sorted([group.base.pk, *(p.pk for p in group.others)]),
        "user_ids": sorted({p.user_id for p in [group.base, *group.others] if p.user_id}),
        "record": record_id,
    }


def winners(decisions) -> dict[str, dict]:
    """Field -> surviving value, whose it is and the rule; fields empty for everyone left out."""
    return {
        d.field: {"value": json_value(d.value), "from": d.winner_id, "rule": rule_text(d.rule)}
        for d in decisions
        if d.value is not None and d.value != "" and d.field != "updated_at"
    }
