"""merge_preview: what a merge would do, field by field, without writing anything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from profiles.models import Person
from profiles.services.merging.errors import MergeRefused
from profiles.services.merging.fields import (
    ATTRIBUTES_PREFIX,
    clean_overrides,
    plan_fields,
    value_of,
)
from profiles.services.merging.merge import check_mergeable, participant_ids
from profiles.services.merging.relations import person_relations
from profiles.services.merging.rules import rank_key


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
    rule: str
    overridable: bool


@dataclass(frozen=True)
class MergePreview:
    base: Person
    others: list[Person]  # in rule order
    rows: list[PreviewRow]
    moves: dict[str, int] = field(default_factory=dict)  # "activities" -> rows that will move

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


def rows_to_move(other_ids: list[int]) -> dict[str, int]:
    counts = {}
    for relation in person_relations():
        count = relation.model._base_manager.filter(
            **{f"{relation.column}__in": other_ids}
        ).count()
        if count:
            counts[relation.verbose_name_plural] = count
    return counts


def merge_preview(
    *,
    base: Person | int,
    others: Iterable[Person | int],
    overrides: Mapping[str, Person | int] | None = None,
) -> MergePreview:
    """Raises MergeRefused exactly when merge_people would refuse the same request."""
    base_id, other_ids = participant_ids(base, others)
    people = Person.objects.in_bulk([base_id, *other_ids])
    if len(people) != len(other_ids) + 1:
        missing = sorted({base_id, *other_ids} - people.keys())
        raise MergeRefused("No person #%(ids)s.", code="missing",
                           params={"ids": ", #".join(map(str, missing))})
    fresh_base = people[base_id]
    fresh_others = sorted((people[pk] for pk in other_ids), key=rank_key)
    check_mergeable(fresh_base, fresh_others)
    ordered = [fresh_base, *fresh_others]
    decisions = plan_fields(
        base=fresh_base, others=fresh_others,
        overrides=clean_overrides(overrides, ordered), now=timezone.now(),
    )
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
            rule=decision.rule,
            overridable=decision.overridable,
        )
        for decision in decisions
    ]
    return MergePreview(fresh_base, fresh_others, rows, rows_to_move(other_ids))
