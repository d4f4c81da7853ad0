"""The merge rules (docs/rules.md): which person survives, and which value of each field survives.

One function, `plan_fields`, decides every field; the preview shows its decisions and the
merge applies them, so what staff see is exactly what happens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from profiles.models import Person, PersonStatus
from profiles.services.merging.errors import MergeRefused

RULE_ORDER = "user ID > user over visitor > older Last Updated > lower ID"

# Plain attributes: the base keeps its value; an empty one is filled in rule order.
FILL_FIELDS = (
    "name", "email", "phone", "company", "city", "country", "os", "browser", "avatar_seed",
)
SUM_FIELDS = ("page_views", "visits")
LATEST_FIELDS = ("last_seen", "last_contacted", "last_heard_from")
EARLIEST_FIELDS = ("first_seen", "created_at")
ATTRIBUTES_PREFIX = "attributes."

RULE_KEPT = "base value kept"
RULE_FILLED = f"base empty: first non-empty in rule order ({RULE_ORDER})"
RULE_NONE = "empty for everyone"
RULE_OVERRIDE = "chosen by staff"
RULE_USER_ID = "the one user ID among them"
RULE_STATUS = "user over visitor"
RULE_SUM = "sum of all"
RULE_LATEST = "most recent"
RULE_EARLIEST = "earliest"
RULE_NOW = "merge time (the base changed)"
RULE_COMBINED = "added up from all (identify's profiling)"


@dataclass(frozen=True)
class Decision:
    """The surviving value of one field (or one custom attribute key)."""

    field: str  # a Person field name, or "attributes.<key>"
    value: Any
    winner_id: int | None  # whose value survives (None: computed from everyone)
    rule: str
    overridable: bool = False


def rank_key(person: Person) -> tuple:
    """Sort key: the first person in this order wins (docs/rules.md)."""
    return (
        person.user_id is None,
        person.status != PersonStatus.USER,
        person.updated_at,
        person.pk,
    )


def choose_base(people: Iterable[Person]) -> Person:
    """The person that survives a merge of `people`."""
    people = list(people)
    if not people:
        raise MergeRefused("Choose at least one person to merge.", code="empty")
    return min(people, key=rank_key)


def rule_order(base: Person, others: Sequence[Person]) -> list[Person]:
    """The base first (its values are kept), then the others in rule order."""
    return [base, *sorted(others, key=rank_key)]


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _fill(field: str, order: list[Person], values: list[Any], override: int | None) -> Decision:
    if override is not None:
        index = [person.pk for person in order].index(override)
        return Decision(field, values[index], override, RULE_OVERRIDE, True)
    for index, value in enumerate(values):
        if not is_empty(value):
            rule = RULE_KEPT if index == 0 else RULE_FILLED
            return Decision(field, value, order[index].pk, rule, True)
    return Decision(field, values[0], order[0].pk, RULE_NONE, True)


def _extreme(field: str, order: list[Person], pick_latest: bool) -> Decision:
    candidates = [(getattr(p, field), p.pk) for p in order if getattr(p, field) is not None]
    if not candidates:
        return Decision(field, None, None, RULE_NONE)
    chooser = max if pick_latest else min
    # Ties go to the earlier person in rule order (stable: min/max keep the first found).
    value = chooser(value for value, _ in candidates)
    winner = next(pk for candidate, pk in candidates if candidate == value)
    return Decision(field, value, winner, RULE_LATEST if pick_latest else RULE_EARLIEST)


def attribute_keys(people: Iterable[Person]) -> list[str]:
    keys: set[str] = set()
    for person in people:
        keys.update((person.attributes or {}).keys())
    return sorted(keys)


def plan_fields(
    *,
    base: Person,
    others: Sequence[Person],
    overrides: Mapping[str, int] | None = None,
    now: datetime,
    combined: Mapping[str, Any] | None = None,
) -> list[Decision]:
    """Every field's surviving value. `overrides` maps field -> person id (already checked);
    `combined` gives attribute values the caller computed from everyone (identify adds up the
    stitched devices' profiling), journaled so that undo can take the others' share back out."""
    overrides = overrides or {}
    combined = combined or {}
    order = rule_order(base, others)
    decisions = [
        _fill(name, order, [getattr(p, name) for p in order], overrides.get(name))
        for name in FILL_FIELDS
    ]
    for key in sorted(set(attribute_keys(order)) | set(combined)):
        name = ATTRIBUTES_PREFIX + key
        if key in combined:
            decisions.append(Decision(name, combined[key], None, RULE_COMBINED))
            continue
        values = [(p.attributes or {}).get(key) for p in order]
        decisions.append(_fill(name, order, values, overrides.get(name)))
    user_owner = next((p for p in order if p.user_id), None)
    decisions.append(
        Decision("user_id", user_owner.user_id if user_owner else None,
                 user_owner.pk if user_owner else None,
                 RULE_USER_ID if user_owner else RULE_NONE)
    )
    user = next((p for p in order if p.status == PersonStatus.USER), None)
    decisions.append(
        Decision("status", PersonStatus.USER if user else base.status,
                 (user or base).pk, RULE_STATUS)
    )
    decisions += [
        Decision(name, sum(getattr(p, name) for p in order), None, RULE_SUM)
        for name in SUM_FIELDS
    ]
    decisions += [_extreme(name, order, pick_latest=True) for name in LATEST_FIELDS]
    decisions += [_extreme(name, order, pick_latest=False) for name in EARLIEST_FIELDS]
    decisions.append(Decision("updated_at", now, None, RULE_NOW))
    return decisions


def overridable_fields(people: Iterable[Person]) -> set[str]:
    return set(FILL_FIELDS) | {ATTRIBUTES_PREFIX + key for key in attribute_keys(people)}


def clean_overrides(
    overrides: Mapping[str, Any] | None, people: Sequence[Person]
) -> dict[str, int]:
    """field -> person id; refuses unknown fields and people outside the merge."""
    if not overrides:
        return {}
    allowed = overridable_fields(people)
    ids = {person.pk for person in people}
    cleaned = {}
    for field, chosen in overrides.items():
        person_id = getattr(chosen, "pk", chosen)
        try:
            person_id = int(person_id)
        except (TypeError, ValueError):
            person_id = None
        if field not in allowed:
            raise MergeRefused(
                "%(field)s cannot be chosen by hand (allowed: %(allowed)s).",
                code="invalid_override",
                params={"field": field, "allowed": ", ".join(sorted(allowed))},
            )
        if person_id not in ids:
            raise MergeRefused(
                "The value chosen for %(field)s must come from one of the people merged.",
                code="invalid_override",
                params={"field": field},
            )
        cleaned[field] = person_id
    return cleaned


def apply_decisions(person: Person, decisions: Iterable[Decision]) -> None:
    """Write the surviving values onto the base (in memory)."""
    attributes = dict(person.attributes or {})
    for decision in decisions:
        if decision.field.startswith(ATTRIBUTES_PREFIX):
            key = decision.field[len(ATTRIBUTES_PREFIX):]
            if decision.winner_id == person.pk:
                continue  # the base's own value (or absence) stays as it is
            if decision.value is None:
                attributes.pop(key, None)  # staff chose someone who lacks the key
            else:
                attributes[key] = decision.value
        else:
            setattr(person, decision.field, decision.value)
    person.attributes = attributes
