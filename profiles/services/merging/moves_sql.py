"""PostgreSQL fast path of `move_rows`: every table moved in ONE prepared statement.

Same result and same journal as the ORM path in moves.py (a test runs both on the same data):
one data-modifying CTE per relation and merged person (a plain `UPDATE … RETURNING` the
original person), all in one round trip. The ids are parameters, so the text only depends on
the number of merged people: PostgreSQL plans it once per connection and then reuses a
generic plan (pg.py), instead of planning a statement of a dozen CTEs on every merge.
Unique clashes are decided inside the statement with the same rule as the ORM path: a row
whose key the base already has, or that a merged person earlier in rule order also has, is
parked (not moved). All CTEs see the same snapshot, so "rows of the others that did not move"
are exactly the parked ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache

from django.db import connection

from profiles.services.merging.pg import prepared_cursor
from profiles.services.merging.relations import PersonRelation


def applicable(relations: Sequence[PersonRelation]) -> bool:
    """Partial unique rules (a condition) would need SQL for the condition: ORM path then."""
    return connection.vendor == "postgresql" and all(
        key.condition is None for relation in relations for key in relation.unique_keys
    )


def _clash_filter(relation: PersonRelation, table: str, earlier: int) -> str:
    """SQL keeping row x only if neither the base nor an earlier other has its key."""
    qn = connection.ops.quote_name
    person = qn(relation.column)
    sql = ""
    for key in relation.unique_keys:
        columns = [qn(relation.model._meta.get_field(name).attname) for name in key.fields]
        same = " AND ".join(f"{{a}}.{column} = x.{column}" for column in columns)
        sql += (f" AND NOT EXISTS (SELECT 1 FROM {table} b WHERE b.{person} = {BASE}"
                f" AND {same.format(a='b')})")
        if earlier:
            ids = ", ".join(_other(position) for position in range(earlier))
            sql += (f" AND NOT EXISTS (SELECT 1 FROM {table} y WHERE y.{person} IN ({ids})"
                    f" AND {same.format(a='y')})")
    return sql


BASE = "%(base)s::bigint"


def _other(position: int) -> str:
    return f"%(o{position})s::bigint"


def _parts(index: int, relation: PersonRelation, count: int) -> tuple[list[str], list[str]]:
    """One plain UPDATE per merged person (cheap to plan); the old owner is a parameter."""
    qn = connection.ops.quote_name
    table = qn(relation.model._meta.db_table)
    pk = qn(relation.model._meta.pk.column)
    person, origin = qn(relation.column), qn(relation.origin_column)
    ctes, selects = [], []
    for position in range(count):
        name, owner = f"m{index}_{position}", _other(position)
        ctes.append(
            f"{name} AS (UPDATE {table} x SET {person} = {BASE} WHERE x.{person} = {owner}"
            f"{_clash_filter(relation, table, position)}"
            f" RETURNING x.{origin} AS origin, x.{pk} AS id)"
        )
        if not relation.unique_keys:
            selects.append(f"SELECT {index}, 'count', {owner}, origin, count(*) FROM {name}"
                           f" GROUP BY origin")
            continue
        selects += [
            f"SELECT {index}, 'moved', {owner}, origin, id FROM {name}",
            f"SELECT {index}, 'parked', {owner}, x.{origin}, x.{pk} FROM {table} x"
            f" WHERE x.{person} = {owner} AND x.{pk} NOT IN (SELECT id FROM {name})",
        ]
    return ctes, selects


@cache
def move_statement(relations: tuple[PersonRelation, ...], count: int) -> str:
    """The statement moving `count` people's rows (the same text every time: prepared once)."""
    ctes, selects = [], []
    for index, relation in enumerate(relations):
        relation_ctes, relation_selects = _parts(index, relation, count)
        ctes += relation_ctes
        selects += relation_selects
    return "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects)


def move_params(base_id: int, other_ids: Sequence[int]) -> dict[str, int]:
    return {"base": int(base_id), **{f"o{i}": int(pk) for i, pk in enumerate(other_ids)}}


def send_move(cursor, *, base_id: int, other_ids: Sequence[int],
              relations: Sequence[PersonRelation]) -> None:
    """Execute (or, in a pipeline, queue) the move; `journal_of(cursor…)` reads its result."""
    cursor.execute(move_statement(tuple(relations), len(other_ids)),
                   move_params(base_id, other_ids))


def move_rows_sql(
    *, base_id: int, other_ids: Sequence[int], relations: Sequence[PersonRelation]
) -> dict:
    with prepared_cursor() as cursor:
        send_move(cursor, base_id=base_id, other_ids=other_ids, relations=relations)
        return journal_of(cursor.fetchall(), relations)


def journal_of(result: list[tuple], relations: Sequence[PersonRelation]) -> dict:
    origins: dict[str, set[int]] = defaultdict(set)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    parked: dict[str, list[int]] = defaultdict(list)
    rows: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, what, person, origin, value in result:
        label, person = relations[index].label, str(person)
        if what == "parked":
            parked[label].append(value)
            continue
        origins[person].add(origin)
        counts[label][person] += value if what == "count" else 1
        if what == "moved":
            rows[label][person].append(value)
    return {
        "origins": {person: sorted(found) for person, found in origins.items()},
        "counts": {label: dict(by_person) for label, by_person in counts.items()},
        "parked": {label: sorted(ids) for label, ids in parked.items()},
        "rows": {
            label: {person: sorted(ids) for person, ids in by_person.items()}
            for label, by_person in rows.items()
        },
    }
