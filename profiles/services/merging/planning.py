"""Planning a merge: the request checked, the participants checked, every field decided.

`plan_group` is what both a merge and a dry run (or the preview) go through, so what they
report is what a merge writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from profiles.models import MergeRecord, Person
from profiles.services.merging.errors import MergeRefused
from profiles.services.merging.fields import Decision, overridable_fields, plan_fields
from profiles.services.merging.rules import rank_key
from profiles.services.tombstones import resolve_live

Group = tuple  # (base, others) or (base, others, overrides); people or ids


@dataclass
class Request:
    index: int  # position in the caller's groups
    base_id: int
    other_ids: list[int]
    overrides: Mapping[str, Any] | None = None


@dataclass
class Plan:
    """One group, checked, its fields decided: what the writers write."""

    request: Request
    base: Person
    others: list[Person]  # rule order
    decisions: list[Decision]
    record: MergeRecord | None = None
    overrides: dict[str, int] | None = None  # field -> person id, checked


def person_id(person: Person | int) -> int:
    return int(getattr(person, "pk", person))


def participant_ids(base: Person | int, others: Iterable[Person | int]) -> tuple[int, list[int]]:
    """Check the request itself (before touching the database): ids, without repeats."""
    if base is None:
        raise MergeRefused("Choose the person to merge into.", code="empty")
    base_id = person_id(base)
    other_ids = list(dict.fromkeys(person_id(other) for other in others or ()))
    if not other_ids:
        raise MergeRefused("Choose at least one other person to merge.", code="empty")
    if base_id in other_ids:
        raise MergeRefused(
            "Person #%(id)s cannot be merged into itself.", code="self", params={"id": base_id}
        )
    return base_id, other_ids


def check_mergeable(base: Person, others: list[Person]) -> None:
    """The rules that refuse a merge, checked on freshly locked rows."""
    for person in [base, *others]:
        if person.merged_into_id is None:
            continue
        live = resolve_live(person)
        if person is not base and live.pk == base.pk:
            raise MergeRefused(
                "Person #%(id)s is already merged into #%(base)s.",
                code="already_merged", params={"id": person.pk, "base": base.pk},
            )
        raise MergeRefused(
            "Person #%(id)s was merged into #%(live)s: merge the live profile instead.",
            code="tombstone", params={"id": person.pk, "live": live.pk},
        )
    user_ids = sorted({person.user_id for person in [base, *others] if person.user_id})
    if len(user_ids) > 1:
        raise MergeRefused(
            "People with different user IDs are never merged (%(ids)s).",
            code="different_user_ids", params={"ids": ", ".join(user_ids)},
        )


def lock_participants(
    base_id: int, other_ids: list[int], people: Mapping[int, Person]
) -> tuple[Person, list[Person]]:
    """The participants from `people` (checked to exist); the others in rule order."""
    # Membership tests, not `set - people.keys()`: that copies every locked id (a whole
    # chunk's) for each group.
    missing = sorted(pk for pk in {base_id, *other_ids} if pk not in people)
    if missing:
        raise MergeRefused(
            "No person #%(ids)s.", code="missing",
            params={"ids": ", #".join(str(pk) for pk in missing)},
        )
    return people[base_id], sorted((people[pk] for pk in other_ids), key=rank_key)


def plan_group(request: Request, people: Mapping[int, Person], now: datetime, *,
               decide: bool = True) -> Plan:
    """Check one group and decide its fields: what a merge writes and a dry run reports.
    (`decide=False`: checked only; `decide_fields` then decides, e.g. while the database
    moves the checked groups' rows.)"""
    base, others = lock_participants(request.base_id, request.other_ids, people)
    check_mergeable(base, others)
    chosen = clean_overrides(request.overrides, [base, *others])
    plan = Plan(request, base, others, [], overrides=chosen)
    if decide:
        decide_fields(plan, now)
    return plan


def decide_fields(plan: Plan, now: datetime) -> None:
    plan.decisions = plan_fields(base=plan.base, others=plan.others, overrides=plan.overrides,
                                 now=now)


def plan_merges(groups: Sequence[Group]) -> list[list[Decision] | MergeRefused]:
    """What `merge_many` would decide for each group (the same checks and field plan), read
    without locks; writes nothing (dry runs, previews)."""
    ids = [person_id(p) for base, others, *_ in groups for p in (base, *(others or ())) if p]
    people, now, plans = Person.objects.in_bulk(ids), timezone.now(), []
    for index, (base, others, *overrides) in enumerate(groups):
        try:
            request = Request(index, *participant_ids(base, others), (overrides or [None])[0])
            plans.append(plan_group(request, people, now).decisions)
        except MergeRefused as refused:
            plans.append(refused)
    return plans


def plan_all(requests: list[Request], people: Mapping[int, Person], now: datetime, *,  # noqa: ANN202
             decide: bool = True):
    plans, refused = [], {}
    for request in requests:
        try:
            plans.append(plan_group(request, people, now, decide=decide))
        except MergeRefused as exc:
            refused[request.index] = exc
    return plans, refused


def clean_overrides(
    overrides: Mapping[str, Any] | None, people: Sequence[Person]
) -> dict[str, int]:
    """field -> person id; refuses computed fields and people outside the merge."""
    if not overrides:
        return {}
    allowed, ids, cleaned = overridable_fields(people), {p.pk for p in people}, {}
    for field, chosen in overrides.items():
        try:
            person_id = int(getattr(chosen, "pk", chosen))
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
                code="invalid_override", params={"field": field},
            )
        cleaned[field] = person_id
    return cleaned


