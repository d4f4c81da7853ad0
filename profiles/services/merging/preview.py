"""merge_preview: what a merge would do, field by field, without writing anything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from profiles.models import Person
from profiles.services.merging.fields import ATTRIBUTES_PREFIX, rule_text, value_of
from profiles.services.merging.moves import plan_clashes
from profiles.services.merging.planning import Request, participant_ids, plan_group
from profiles.services.merging.relations import person_relations


@dataclass(frozen=True)
class PreviewValue:
    person_id: int
    value: Any
    is_winner: bool


@dataclass(frozen=True)
class PreviewRow:
    """One field: every person's value (in `MergePreview.people` order) and the survivor."""

    field: str  # form name for an override radio: a Person field or "attributes.<key>"
    verbose_name: str
    values: list[PreviewValue]
    value: Any  # the surviving value
    winner_id: int | None  # None when computed from everyone (sums, merge time)
    rule: str  # in words
    overridable: bool


@dataclass(frozen=True)
class MergePreview:
    base: Person
    others: list[Person]  # in rule order
    rows: list[PreviewRow]
    moves: dict[str, int] = field(default_factory=dict)  # "activities" -> rows that will move
    parked: dict[str, str] = field(default_factory=dict)  # "identities" -> why some stay

    @property
    def people(self) -> list[Person]:
        """Column order for templates: the base, then the others in rule order."""
        return [self.base, *self.others]

    def row(self, name: str) -> PreviewRow:
        return next(row for row in self.rows if row.field == name)

    @property
    def winners(self) -> dict[str, int | None]:
        return {row.field: row.winner_id for row in self.rows}


def _verbose_name(name: str) -> str:
    if name.startswith(ATTRIBUTES_PREFIX):
        return f"{name[len(ATTRIBUTES_PREFIX):]} (custom attribute)"
    return str(Person._meta.get_field(name).verbose_name)


def rows_to_move(base_id: int, other_ids: list[int]) -> tuple[dict[str, int], dict[str, str]]:
    """Rows that will move, per table, and why the others stay: a row whose key (the tag, the
    identity) the base or a person earlier in rule order already holds is parked, as the
    merge's journal will say (moves.plan_clashes is the rule both use)."""
    counts, parked = {}, {}
    for relation in person_relations():
        name = relation.verbose_name_plural
        if relation.unique_keys:
            moving, kept = plan_clashes(relation, base_id, other_ids)
            count = len(moving)
            if kept:
                fields = " and ".join(sorted({
                    str(relation.model._meta.get_field(f).verbose_name)
                    for key in relation.unique_keys for f in key.fields}))
                stay = "stays where it is" if len(kept) == 1 else "stay where they are"
                parked[name] = (f"{len(kept)} {stay} (parked): the surviving profile, or one"
                                f" before theirs, already holds the same {fields}")
        else:
            count = relation.model._base_manager.filter(
                **{f"{relation.column}__in": other_ids}).count()
        if count:
            counts[name] = count
    return counts, parked


def merge_preview(
    *,
    base: Person | int,
    others: Iterable[Person | int],
    overrides: Mapping[str, Person | int] | None = None,
) -> MergePreview:
    """Raises MergeRefused exactly when merge_people would refuse the same request: the same
    checks and field plan (planning.plan_group), read without locks."""
    base_id, other_ids = participant_ids(base, others)
    people = Person.objects.in_bulk([base_id, *other_ids])
    plan = plan_group(Request(0, base_id, other_ids, overrides), people, timezone.now())
    ordered = [plan.base, *plan.others]
    rows = [
        PreviewRow(
            field=decision.field,
            verbose_name=_verbose_name(decision.field),
            values=[
                PreviewValue(p.pk, value_of(p, decision.field), p.pk == decision.winner_id)
                for p in ordered
            ],
            value=decision.value,
            winner_id=decision.winner_id,
            rule=rule_text(decision.rule),
            overridable=decision.overridable,
        )
        for decision in plan.decisions
    ]
    moves, parked = rows_to_move(base_id, [other.pk for other in plan.others])
    return MergePreview(plan.base, plan.others, rows, moves, parked)
