"""What happens to one duplicate group: conflict, or base + others, as report entries."""

from __future__ import annotations

from dataclasses import dataclass

from dedup.models import DedupConflict, DedupRun
from profiles.models import Person
from profiles.services.merging.rules import choose_base, rank_key
from profiles.services.merging.state import json_value


@dataclass(frozen=True)
class Group:
    email: str
    base: Person
    others: list[Person]


def split(email: str, people: list[Person]) -> Group | None:
    """The group's base and others, or None when it holds different user IDs (a conflict)."""
    if len({p.user_id for p in people if p.user_id}) > 1:
        return None
    base = choose_base(people)
    others = sorted((p for p in people if p.pk != base.pk), key=rank_key)
    return Group(email, base, others)


def conflict_row(run: DedupRun, email: str, people: list[Person]) -> DedupConflict:
    return DedupConflict(
        run=run,
        email_normalized=email,
        person_ids=sorted(p.pk for p in people),
        user_ids=sorted({p.user_id for p in people if p.user_id}),
    )


def conflict_entry(email: str, people: list[Person]) -> dict:
    return {
        "email": email,
        "outcome": "conflict",
        "base": None,
        "merged": [],
        "people": sorted(p.pk for p in people),
        "user_ids": sorted({p.user_id for p in people if p.user_id}),
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
        d.field: {"value": json_value(d.value), "from": d.winner_id, "rule": d.rule}
        for d in decisions
        if d.value is not None and d.value != "" and d.field != "updated_at"
    }
