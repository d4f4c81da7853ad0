"""PostgreSQL fast path of `move_rows`: every table moved in ONE statement.

Same result and same journal as the ORM path in moves.py (a test runs both on the same data):
one data-modifying CTE per relation (`UPDATE … FROM (rows of the others) RETURNING` the old
owner and the original person), all in one round trip. Unique clashes are decided inside the
statement with the same rule as the ORM path: a row whose key the base already has, or that a
merged person earlier in rule order also has, is parked (not moved). All CTEs see the same
snapshot, so "rows of the others that did not move" are exactly the parked ones.
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


def _clash_filter(relation: PersonRelation, table: str, person: str) -> str:
    """SQL that keeps row x only if no row on the base, nor on an earlier other, has its key."""
    qn = connection.ops.quote_name
    sql = ""
    for key in relation.unique_keys:
        columns = [qn(relation.model._meta.get_field(name).attname) for name in key.fields]
        same = " AND ".join(f"{{a}}.{column} = x.{column}" for column in columns)
        sql += (
            f" AND NOT EXISTS (SELECT 1 FROM {table} b WHERE b.{person} = %(base)s"
            f" AND {same.format(a='b')})"
            f" AND NOT EXISTS (SELECT 1 FROM {table} y WHERE y.{person} = ANY(%(others)s)"
            f" AND {same.format(a='y')} AND array_position(%(others)s, y.{person})"
            f" < array_position(%(others)s, x.{person}))"
        )
    return sql


def _parts(index: int, relation: PersonRelation) -> tuple[str, list[str]]:
    qn = connection.ops.quote_name
    table = qn(relation.model._meta.db_table)
    pk = qn(relation.model._meta.pk.column)
    person, origin = qn(relation.column), qn(relation.origin_column)
    cte = (
        f"m{index} AS (UPDATE {table} t SET {person} = %(base)s FROM ("
        f"SELECT x.{pk} AS id, x.{person} AS old FROM {table} x"
        f" WHERE x.{person} = ANY(%(others)s){_clash_filter(relation, table, person)}) s"
        f" WHERE t.{pk} = s.id RETURNING s.old, t.{origin} AS origin, t.{pk} AS id)"
    )
    if not relation.unique_keys:
        return cte, [f"SELECT {index}, 'count', old, origin, count(*) FROM m{index}"
                     f" GROUP BY old, origin"]
    return cte, [
        f"SELECT {index}, 'moved', old, origin, id FROM m{index}",
        f"SELECT {index}, 'parked', x.{person}, x.{origin}, x.{pk} FROM {table} x"
        f" WHERE x.{person} = ANY(%(others)s) AND x.{pk} NOT IN (SELECT id FROM m{index})",
    ]


def move_rows_sql(
    *, base_id: int, other_ids: Sequence[int], relations: Sequence[PersonRelation]
) -> dict:
    ctes, selects = [], []
    for index, relation in enumerate(relations):
        cte, select = _parts(index, relation)
        ctes.append(cte)
        selects += select
    sql = "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects)
    # Typed once here: psycopg would otherwise pick int2[] for small ids.
    sql = sql.replace("%(others)s", "%(others)s::bigint[]").replace("%(base)s", "%(base)s::bigint")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"base": base_id, "others": list(other_ids)})
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
