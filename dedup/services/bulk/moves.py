"""Row moves for a whole chunk of groups: one UPDATE per related table.

Same result as the merge engine's `move_rows` called group by group (profiles/services/merging/
moves.py), including its journal part (`origins`, `counts`, `parked`, `rows`), but with one
statement per table for up to DEDUP_CHUNK_GROUPS groups instead of several per group:

- tables without a unique rule on the person (activities, conversations, deals): one
  `UPDATE … FROM unnest(dup[], base[]) … RETURNING` inside a CTE that also counts, per
  duplicate, the rows moved by original owner;
- tables with one (tags, identities): the clash plan is computed in Python from one read of
  every participant's rows (the engine's rule: base first, then the others in rule order; a
  row whose key is already taken is parked on its tombstone), then one UPDATE by row id.

On a database other than PostgreSQL the engine's own `move_rows` runs per group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import connection

from dedup.services.bulk.copy import execute
from dedup.services.groups import Group
from profiles.services.merging.moves import move_rows, row_keys
from profiles.services.merging.relations import PersonRelation, person_relations


class GroupMoves:
    """The `moved` journal part of one group, built table by table."""

    def __init__(self) -> None:
        self.origins: dict[str, set[int]] = defaultdict(set)
        self.counts: dict[str, dict[str, int]] = {}
        self.parked: dict[str, list[int]] = {}
        self.rows: dict[str, dict[str, list[int]]] = {}

    def add(self, label: str, person: int, origin: int, n: int) -> None:
        self.origins[str(person)].add(origin)
        table = self.counts.setdefault(label, {})
        table[str(person)] = table.get(str(person), 0) + n

    def as_json(self) -> dict:
        return {
            "origins": {person: sorted(found) for person, found in self.origins.items()},
            "counts": self.counts,
            "parked": self.parked,
            "rows": self.rows,
        }

    @property
    def total(self) -> int:
        return sum(sum(per_person.values()) for per_person in self.counts.values())


def move_chunk_rows(groups: Sequence[Group]) -> list[dict]:
    """Move every row of every group's others to its base; each group's `moved` journal."""
    if connection.vendor != "postgresql":
        return [
            move_rows(base_id=group.base.pk, other_ids=[o.pk for o in group.others])
            for group in groups
        ]
    moves = [GroupMoves() for _ in groups]
    for relation in person_relations():
        if relation.unique_keys:
            _move_keyed(relation, groups, moves)
        else:
            _move_plain(relation, groups, moves)
    return [move.as_json() for move in moves]


def _move_plain(relation: PersonRelation, groups: Sequence[Group], moves: list[GroupMoves]):
    pairs, group_of = [], {}
    for index, group in enumerate(groups):
        for other in group.others:
            pairs.append((other.pk, group.base.pk))
            group_of[other.pk] = index
    # In id order: the index scans then walk the table's pages mostly forward (rows are
    # stored roughly in the order people were created), which matters once it exceeds memory.
    pairs.sort()
    dups, bases = [d for d, _ in pairs], [b for _, b in pairs]
    table = connection.ops.quote_name(relation.model._meta.db_table)
    column = connection.ops.quote_name(relation.column)
    origin = connection.ops.quote_name(relation.origin_column)
    sql = (
        f"WITH m AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS m(dup, base)), "
        f"u AS (UPDATE {table} t SET {column} = m.base FROM m WHERE t.{column} = m.dup "
        f"RETURNING m.dup AS dup, t.{origin} AS origin) "
        f"SELECT dup, origin, count(*) FROM u GROUP BY dup, origin"
    )
    for dup, origin_id, n in execute(sql, [dups, bases]):
        moves[group_of[dup]].add(relation.label, dup, origin_id, n)


def _key_columns(relation: PersonRelation) -> list[str]:
    names = sorted({name for key in relation.unique_keys for name in key.fields})
    return [relation.model._meta.get_field(name).attname for name in names]


def _move_keyed(relation: PersonRelation, groups: Sequence[Group], moves: list[GroupMoves]):
    everyone = [p.pk for group in groups for p in (group.base, *group.others)]
    rows_by_person, conditional = _read_keyed_rows(relation, everyone)
    row_ids, targets = [], []
    for group, move in zip(groups, moves, strict=True):
        moving = _plan_group(relation, group, rows_by_person, conditional, move)
        for row in moving:
            row_ids.append(row["pk"])
            targets.append(group.base.pk)
            move.add(relation.label, row[relation.column], row[relation.origin_column], 1)
    if row_ids:
        ordered = sorted(zip(row_ids, targets, strict=True))
        row_ids, targets = [r for r, _ in ordered], [t for _, t in ordered]
        table = connection.ops.quote_name(relation.model._meta.db_table)
        column = connection.ops.quote_name(relation.column)
        execute(
            f"UPDATE {table} t SET {column} = m.base "
            f"FROM unnest(%s::bigint[], %s::bigint[]) AS m(id, base) WHERE t.id = m.id",
            [row_ids, targets],
        )


def _read_keyed_rows(relation: PersonRelation, person_ids: list[int]):
    """Every participant's rows (id, person, origin, key columns) and, per partial unique rule,
    the ids of the rows it applies to: one server-bound statement, the rule's condition
    compiled by the ORM into a boolean column (the engine reads them with one query each)."""
    quote = connection.ops.quote_name
    model = relation.model
    table = quote(model._meta.db_table)
    names = ["pk", relation.column, relation.origin_column, *_key_columns(relation)]
    columns = [model._meta.pk.column, relation.column, relation.origin_column,
               *_key_columns(relation)]
    selected = [f"{table}.{quote(column)}" for column in columns]
    params: list = []
    flagged = []
    for index, key in enumerate(relation.unique_keys):
        if key.condition is not None:
            sql, condition_params = _condition_sql(model, key.condition)
            selected.append(f"({sql})")
            params.extend(condition_params)
            flagged.append(index)
    params.append(person_ids)
    rows_by_person: dict[int, list[dict]] = defaultdict(list)
    conditional: dict[int, set[int]] = {index: set() for index in flagged}
    width = len(names)
    for values in execute(
        f"SELECT {', '.join(selected)} FROM {table} "
        f"WHERE {table}.{quote(relation.column)} = ANY(%s::bigint[])",
        params,
    ):
        row = dict(zip(names, values[:width], strict=True))
        rows_by_person[row[relation.column]].append(row)
        for index, applies in zip(flagged, values[width:], strict=True):
            if applies:
                conditional[index].add(row["pk"])
    return rows_by_person, conditional


def _condition_sql(model, condition) -> tuple[str, tuple]:
    """A partial unique rule's condition as SQL on the model's table (columns table-qualified)."""
    query = model._base_manager.filter(condition).query
    compiler = query.get_compiler(connection=connection)
    return compiler.compile(query.where)


def _plan_group(relation, group: Group, rows_by_person, conditional, move: GroupMoves):
    """The engine's clash rule (merging.moves.plan_clashes) for one group, on rows in hand."""
    taken: set[tuple] = set()
    parked: set[int] = set()
    moving: list[dict] = []
    for person in (group.base, *group.others):
        for row in rows_by_person.get(person.pk, ()):
            keys = row_keys(relation, row, conditional)
            if person.pk != group.base.pk and taken.intersection(keys):
                parked.add(row["pk"])
                continue
            taken.update(keys)
            if person.pk != group.base.pk:
                moving.append(row)
    if parked:
        move.parked[relation.label] = sorted(parked)
    ids: dict[str, list[int]] = defaultdict(list)
    for row in moving:
        ids[str(row[relation.column])].append(row["pk"])
    if ids:
        move.rows[relation.label] = {person: sorted(pks) for person, pks in ids.items()}
    return moving

