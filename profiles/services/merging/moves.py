"""Set-based row moves between people, for every relation in the registry.

A merge moves with one UPDATE per table; undo moves back with one UPDATE per table and merged
person, selecting rows by their `original_person`. No per-row copies: the journal keeps, per
merged person, the original owners whose rows it held (`origins`).

Unique clashes (the base already has the tag, the email identity) are resolved by leaving the
duplicate row "parked" on its tombstone: the base already holds an equal row, so the tag or
identity is still there after the merge (tags are unioned), no row is deleted, and undo is
exact because parked rows never moved. Between several merged people holding the same key,
the first in rule order moves and the rest are parked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Count

from profiles.services.merging.relations import PersonRelation, person_relations


def _key_rows(relation: PersonRelation, person_ids: Sequence[int]) -> list[dict]:
    key_fields = {name for key in relation.unique_keys for name in key.fields}
    columns = [relation.model._meta.get_field(name).attname for name in sorted(key_fields)]
    manager = relation.model._base_manager
    return list(
        manager.filter(**{f"{relation.column}__in": person_ids}).values(
            "pk", relation.column, relation.origin_column, *columns
        )
    )


def row_keys(relation: PersonRelation, row: dict, conditional: dict) -> list[tuple]:
    """The unique keys a row would claim on its new owner (what a clash is judged on)."""
    keys = []
    for index, key in enumerate(relation.unique_keys):
        if key.condition is not None and row["pk"] not in conditional[index]:
            continue  # a partial unique rule that does not apply to this row
        columns = [relation.model._meta.get_field(name).attname for name in key.fields]
        keys.append((index, *(row[column] for column in columns)))
    return keys


def plan_clashes(
    relation: PersonRelation, base_id: int, other_ids: Sequence[int]
) -> tuple[list[dict], set[int]]:
    """Rows of the others on this table, and the ids to park (their key is already taken)."""
    rows = _key_rows(relation, [base_id, *other_ids])
    conditional = {
        index: set(
            relation.model._base_manager.filter(key.condition)
            .filter(**{f"{relation.column}__in": [base_id, *other_ids]})
            .values_list("pk", flat=True)
        )
        for index, key in enumerate(relation.unique_keys)
        if key.condition is not None
    }
    by_person = defaultdict(list)
    for row in rows:
        by_person[row[relation.column]].append(row)
    taken: set[tuple] = set()
    parked: set[int] = set()
    moving: list[dict] = []
    for person_id in [base_id, *other_ids]:
        for row in by_person[person_id]:
            keys = row_keys(relation, row, conditional)
            if person_id != base_id and taken.intersection(keys):
                parked.add(row["pk"])
                continue
            taken.update(keys)
            if person_id != base_id:
                moving.append(row)
    return moving, parked


def _origins_and_counts(relation: PersonRelation, rows) -> tuple[dict, dict]:
    origins: dict[str, set[int]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        person = str(row[relation.column])
        origins[person].add(row[relation.origin_column])
        counts[person] += row.get("n", 1)
    return origins, counts


def move_rows_orm(*, base_id: int, other_ids: Sequence[int]) -> dict:
    """Move every row of `other_ids` (in rule order) to the base; return the journal part.
    The portable path (PostgreSQL runs moves_sql.py): per table, one read (origins, clashes)
    and one UPDATE."""
    origins: dict[str, set[int]] = defaultdict(set)
    counts: dict[str, dict[str, int]] = {}
    parked_by_table: dict[str, list[int]] = {}
    ids_by_table: dict[str, dict[str, list[int]]] = {}
    for relation in person_relations():
        manager = relation.model._base_manager
        queryset = manager.filter(**{f"{relation.column}__in": other_ids})
        if relation.unique_keys:
            rows, parked = plan_clashes(relation, base_id, other_ids)
            if parked:
                queryset = queryset.exclude(pk__in=parked)
                parked_by_table[relation.label] = sorted(parked)
            ids = defaultdict(list)
            for row in rows:
                ids[str(row[relation.column])].append(row["pk"])
            if ids:
                ids_by_table[relation.label] = {k: sorted(v) for k, v in ids.items()}
        else:
            rows = queryset.values(relation.column, relation.origin_column).annotate(
                n=Count("pk")
            ).order_by()
        table_origins, table_counts = _origins_and_counts(relation, rows)
        if not table_counts:
            continue
        for person, found in table_origins.items():
            origins[person] |= found
        counts[relation.label] = dict(table_counts)
        queryset.update(**{relation.column: base_id})
    return {
        "origins": {person: sorted(found) for person, found in origins.items()},
        "counts": counts,
        "parked": parked_by_table,
        "rows": ids_by_table,
    }


def move_back(*, base_id: int, person_id: int, origins: Sequence[int]) -> dict[str, int]:
    """Undo's move: rows on the base first recorded for one of `origins` go to `person_id`."""
    counts = {}
    if not origins:
        return counts
    for relation in person_relations():
        moved = relation.model._base_manager.filter(
            **{relation.column: base_id, f"{relation.origin_column}__in": list(origins)}
        ).update(**{relation.column: person_id})
        if moved:
            counts[relation.label] = moved
    return counts
