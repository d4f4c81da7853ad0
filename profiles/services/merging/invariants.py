"""The "nothing lost" checks, for tests and for operators (`check_invariants()` in a shell).

They read whole tables: meant for test data sets and audits, not for request paths.
"""

from __future__ import annotations

from collections import Counter

from profiles.models import MergeRecord, Person
from profiles.services.merging.relations import PersonRelation, person_relations
from profiles.services.tombstones import live_ids

RowMap = dict[str, dict[int, int]]  # relation label -> {row id: person id}


def rows_by_relation() -> RowMap:
    """Every row of every relation in the registry, with the person it is on."""
    return {
        relation.label: dict(
            relation.model._base_manager.values_list("pk", relation.column)
        )
        for relation in person_relations()
    }


def _live_ends() -> dict[int, int | None]:
    """person id -> live person it resolves to (None: broken or cyclic chain)."""
    ids = list(Person.objects.values_list("pk", flat=True))
    found = live_ids(ids)  # the one tombstone follower; a broken chain is left out
    return {pk: found.get(pk) for pk in ids}


def _keys(relation: PersonRelation) -> dict[int, set[tuple]]:
    """row id -> its unique keys (without the person), for tables with such rules."""
    names = sorted({name for key in relation.unique_keys for name in key.fields})
    columns = [relation.model._meta.get_field(name).attname for name in names]
    found: dict[int, set[tuple]] = {}
    for row in relation.model._base_manager.values("pk", *columns):
        found[row["pk"]] = {
            tuple(row[relation.model._meta.get_field(name).attname] for name in key.fields)
            for key in relation.unique_keys
        }
    return found


def _parked_ok(relation: PersonRelation, rows: dict[int, int], ends: dict) -> set[int]:
    """Rows on a tombstone whose live person holds an equal row (a parked duplicate)."""
    if not relation.unique_keys:
        return set()
    keys = _keys(relation)
    held: dict[int, set[tuple]] = {}
    for row_id, person_id in rows.items():
        if ends.get(person_id) == person_id:
            held.setdefault(person_id, set()).update(keys[row_id])
    return {
        row_id for row_id, person_id in rows.items()
        if ends.get(person_id) not in (None, person_id)
        and keys[row_id] & held.get(ends[person_id], set())
    }


def conservation_problems(before: RowMap, after: RowMap | None = None) -> list[str]:
    """Every row that existed before still exists, on a live person (or parked)."""
    after = rows_by_relation() if after is None else after
    ends = _live_ends()
    problems = []
    for relation in person_relations():
        old, new = before.get(relation.label, {}), after.get(relation.label, {})
        lost = sorted(set(old) - set(new))
        if lost:
            problems.append(f"{relation.label}: rows {lost[:10]} disappeared")
        parked = _parked_ok(relation, new, ends)
        stranded = sorted(
            row_id for row_id, person_id in new.items()
            if ends.get(person_id) != person_id and row_id not in parked
        )
        if stranded:
            problems.append(f"{relation.label}: rows {stranded[:10]} are on tombstones")
    return problems


def invariant_problems() -> list[str]:
    """Tombstones resolve to live people; merged_at goes with merged_into; user IDs unique;
    every person a standing (not undone) journal entry merged is still a tombstone."""
    problems = []
    ends = _live_ends()
    broken = sorted(pk for pk, end in ends.items() if end is None)
    if broken:
        problems.append(f"people {broken[:10]} have a broken or cyclic merged_into chain")
    mismatched = Person.objects.filter(merged_into__isnull=True, merged_at__isnull=False) | (
        Person.objects.filter(merged_into__isnull=False, merged_at__isnull=True)
    )
    if mismatched.exists():
        problems.append(f"people {list(mismatched.values_list('pk', flat=True)[:10])} "
                        "have merged_at without merged_into or the reverse")
    live_user_ids = Counter(
        Person.objects.filter(merged_into__isnull=True, user_id__isnull=False)
        .values_list("user_id", flat=True)
    )
    repeated = sorted(user_id for user_id, count in live_user_ids.items() if count > 1)
    if repeated:
        problems.append(f"user IDs {repeated[:10]} are held by several live people")
    merged = {pk for ids in MergeRecord.objects.filter(undone_at__isnull=True)
              .values_list("merged_ids", flat=True) for pk in ids}
    revived = sorted(pk for pk in merged if ends.get(pk) == pk)
    if revived:
        problems.append(f"people {revived[:10]} are live although a standing merge journal "
                        "entry says they were merged")
    return problems
