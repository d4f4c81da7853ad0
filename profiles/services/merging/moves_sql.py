"""PostgreSQL fast path of `move_rows`: every table moved in ONE statement.

Same result and same journal as the ORM path in moves.py (a test runs both on the same data):
one data-modifying CTE per relation and merged person (a plain `UPDATE … RETURNING` the
original person: cheap to plan, and its old owner is a constant), all in one round trip.
Unique clashes are decided inside the statement with the same rule as the ORM path: a row
whose key the base already has, or that a merged person earlier in rule order also has, is
parked (not moved). All CTEs see the same snapshot, so "rows of the others that did not move"
are exactly the parked ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import connection

from profiles.services.merging.relations import PersonRelation


def applicable(relations: Sequence[PersonRelation]) -> bool:
    """Partial unique rules (a condition) would need SQL for the condition: ORM path then."""
    return connection.vendor == "postgresql" and all(
        key.condition is None for relation in relations for key in relation.unique_keys
    )


def _clash_filter(relation: PersonRelation, table: str, base: int, earlier: list[int]) -> str:
    """SQL keeping row x only if neither the base nor an earlier other has its key."""
    qn = connection.ops.quote_name
    person = qn(relation.column)
    sql = ""
    for key in relation.unique_keys:
        columns = [qn(relation.model._meta.get_field(name).attname) for name in key.fields]
        same = " AND ".join(f"{{a}}.{column} = x.{column}" for column in columns)
        sql += (f" AND NOT EXISTS (SELECT 1 FROM {table} b WHERE b.{person} = {base}"
                f" AND {same.format(a='b')})")
        if earlier:
            ids = ", ".join(map(str, earlier))
            sql += (f" AND NOT EXISTS (SELECT 1 FROM {table} y WHERE y.{person} IN ({ids})"
                    f" AND {same.format(a='y')})")
    return sql


def _parts(
    index: int, relation: PersonRelation, base: int, others: list[int]
) -> tuple[list[str], list[str]]:
    """One plain UPDATE per merged person (cheap to plan); the old owner is then a constant."""
    qn = connection.ops.quote_name
    table = qn(relation.model._meta.db_table)
    pk = qn(relation.model._meta.pk.column)
    person, origin = qn(relation.column), qn(relation.origin_column)
    ctes, selects = [], []
    for position, other in enumerate(others):
        name = f"m{index}_{position}"
        ctes.append(
            f"{name} AS (UPDATE {table} x SET {person} = {base} WHERE x.{person} = {other}"
            f"{_clash_filter(relation, table, base, others[:position])}"
            f" RETURNING x.{origin} AS origin, x.{pk} AS id)"
        )
        owner = f"{other}::bigint"
        if not relation.unique_keys:
            selects.append(f"SELECT {index}, 'count', {owner}, origin, count(*) FROM {name}"
                           f" GROUP BY origin")
            continue
        selects += [
            f"SELECT {index}, 'moved', {owner}, origin, id FROM {name}",
            f"SELECT {index}, 'parked', {owner}, x.{origin}, x.{pk} FROM {table} x"
            f" WHERE x.{person} = {other} AND x.{pk} NOT IN (SELECT id FROM {name})",
        ]
    return ctes, selects


def move_rows_sql(
    *, base_id: int, other_ids: Sequence[int], relations: Sequence[PersonRelation]
) -> dict:
    # Ids are embedded as integer literals (int() below): nothing else comes from outside.
    base, others = int(base_id), [int(pk) for pk in other_ids]
    ctes, selects = [], []
    for index, relation in enumerate(relations):
        relation_ctes, relation_selects = _parts(index, relation, base, others)
        ctes += relation_ctes
        selects += relation_selects
    sql = "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return _journal(cursor.fetchall(), relations)


def _journal(result: list[tuple], relations: Sequence[PersonRelation]) -> dict:
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
