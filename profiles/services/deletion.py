"""Selective delete of people staff believe are duplicates (docs/rules.md, Delete).

A live person is deleted together with everything that is theirs:
- the rows pointing at them (activities, identities, conversations, deals, tags, …: CASCADE);
- the tombstones merged into them, recursively. A tombstone is the same real person as its
  base, and `merged_into` is PROTECT, so deleting the base alone is impossible. We delete them
  deliberately, deepest first, rather than re-pointing them somewhere arbitrary;
- the merge journal entries whose base is one of those people (MergeRecord.base is PROTECT):
  an entry about people who no longer exist cannot be undone. The summary lists them.

Rows of OTHER people must not go with them: a row's `original_person` (CASCADE) may be a
deleted person while the row now lives on someone else (it moved there before an undo or a
later merge). Those rows are re-pointed to their current owner first, so nothing of a person
who stays is lost.

Tombstones themselves are not deletable on their own: delete the live person they point to.
Deletion of a Person writes a simple-history deletion row carrying the actor and reason; the
admin adds the LogEntry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, F

from profiles.models import MergeRecord, Person
from profiles.services.merging import person_relations
from profiles.services.tombstones import tombstones_of


@dataclass
class PersonDeletion:
    """One live person to delete and what goes with them (counts by verbose_name_plural)."""

    person: Person
    tombstones: list[Person] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class DeletionSummary:
    deleted: list[PersonDeletion]
    merge_records_deleted: list[int]
    rows_repointed: int

    @property
    def people_count(self) -> int:
        return sum(1 + len(item.tombstones) for item in self.deleted)


def _related_counts(owner_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per person id: rows of each related table that point at them (one query per table).

    The tables are the merge engine's relation registry: whatever a merge moves with a person,
    deleting the person deletes (a model added later included)."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in owner_ids}
    for relation in person_relations():
        rows = (
            relation.model._base_manager.filter(**{f"{relation.column}__in": owner_ids})
            .values(relation.column).annotate(n=Count("pk")).order_by()
        )
        for row in rows:
            counts[row[relation.column]][relation.verbose_name_plural] = row["n"]
    return counts


def plan_deletion(*, people: Iterable[Person]) -> list[PersonDeletion]:
    """What deleting `people` takes with it: their tombstones and related rows (read only)."""
    people = sorted(people, key=lambda person: person.pk)
    tombstones = tombstones_of([person.pk for person in people])
    counts = _related_counts([person.pk for person in people])
    root_of = {t.pk: root for root, tombs in tombstones.items() for t in tombs}
    root_of.update({person.pk: person.pk for person in people})
    journal: dict[int, int] = dict.fromkeys(root_of.values(), 0)
    for row in (MergeRecord.objects.filter(base_id__in=root_of).values("base_id")
                .annotate(n=Count("pk")).order_by()):
        journal[root_of[row["base_id"]]] += row["n"]
    plan = []
    for person in people:
        item = PersonDeletion(person=person, tombstones=tombstones[person.pk])
        item.counts = {label: n for label, n in sorted(counts[person.pk].items()) if n}
        if item.tombstones:
            item.counts["merged profiles (tombstones)"] = len(item.tombstones)
        if journal[person.pk]:
            item.counts["merge journal entries"] = journal[person.pk]
        plan.append(item)
    return plan


def _lock_and_check(ids: list[int]) -> list[Person]:
    locked = list(Person.objects.select_for_update().filter(pk__in=ids).order_by("id"))
    missing = set(ids) - {person.pk for person in locked}
    if missing:
        raise ValidationError(
            f"Already deleted: #{', #'.join(map(str, sorted(missing)))}.", code="missing"
        )
    for person in locked:
        if person.merged_into_id is not None:
            raise ValidationError(
                f"{person.display_name} (#{person.pk}) was merged into #{person.merged_into_id}:"
                " delete the surviving profile instead.",
                code="tombstone",
            )
    return locked


def _repoint_foreign_rows(doomed: set[int]) -> int:
    """Rows first recorded for a doomed person but now owned by someone who stays."""
    moved = 0
    for relation in person_relations():
        moved += (
            relation.model._base_manager.filter(**{f"{relation.origin_column}__in": doomed})
            .exclude(**{f"{relation.column}__in": doomed})
            .update(**{relation.origin_column: F(relation.column)})
        )
    return moved


def _delete_with_history(obj: models.Model, *, actor: Any, reason: str) -> None:
    """Delete one row; simple-history's deletion row carries the actor and the reason."""
    obj._change_reason = reason
    if actor is not None and getattr(actor, "is_authenticated", False):
        obj._history_user = actor
    obj.delete()


def _delete_tracked_rows(doomed: set[int], *, actor: Any, reason: str) -> None:
    """Rows of history-tracked tables (identities) one by one, so their history says who.

    A cascade would write those history rows too, but without the actor or the reason.
    People hold a handful of identities, so per-row deletes cost little here.
    """
    for relation in person_relations():
        if not hasattr(relation.model, "history"):
            continue
        for row in relation.model._base_manager.filter(**{f"{relation.column}__in": doomed}):
            _delete_with_history(row, actor=actor, reason=reason)


@transaction.atomic
def delete_people(*, people: Iterable[Person], actor: Any = None, reason: str) -> DeletionSummary:
    """Delete live people with their tombstones and rows; refuse tombstones and vanished ids."""
    ids = sorted({person.pk for person in people})
    if not ids:
        raise ValidationError("Select at least one person to delete.", code="empty")
    planned = tombstones_of(ids)
    every_id = sorted({*ids, *(t.pk for tombs in planned.values() for t in tombs)})
    _lock_and_check(ids)
    # Lock the tombstones too (id order, like the merge engine, so the two never deadlock).
    list(Person.objects.select_for_update().filter(pk__in=every_id).order_by("id").values("id"))
    plan = plan_deletion(people=Person.objects.filter(pk__in=ids))
    if {t.pk for item in plan for t in item.tombstones} != set(every_id) - set(ids):
        # A merge into one of them committed between our two reads: start from a clean state.
        raise ValidationError("These people changed while deleting; please try again.")
    doomed = set(every_id)
    repointed = _repoint_foreign_rows(doomed)
    records = list(
        MergeRecord.objects.filter(base_id__in=doomed).order_by("id").values_list("id", flat=True)
    )
    MergeRecord.objects.filter(pk__in=records).delete()
    _delete_tracked_rows(doomed, actor=actor, reason=reason)
    for item in plan:
        for tomb in reversed(item.tombstones):  # deepest first: merged_into is PROTECT
            _delete_with_history(tomb, actor=actor, reason=reason)
        _delete_with_history(item.person, actor=actor, reason=reason)
    return DeletionSummary(deleted=plan, merge_records_deleted=records, rows_repointed=repointed)
