"""PostgreSQL: lock the participants with one prepared statement (locking.lock_people's twin).

The same rows `lock_people` returns (every participant `FOR UPDATE`, in id order), read with a
prepared statement instead of a compiled queryset: the merge's lock then costs no ORM work and
can share a pipeline (one round trip) with the BEGIN and the move that follows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db import connection

from profiles.models import Person


@cache
def _statement() -> tuple[str, tuple[str, ...], tuple[tuple[int, tuple, Any], ...]]:
    """The SELECT, the attnames it returns, and each column's converters (JSON parsing)."""
    qn = connection.ops.quote_name
    table = Person._meta.db_table
    fields = Person._meta.concrete_fields
    sql = (f"SELECT {', '.join(qn(field.column) for field in fields)} FROM {qn(table)}"
           f" WHERE {qn(Person._meta.pk.column)} = ANY(%s::bigint[])"
           f" ORDER BY {qn(Person._meta.pk.column)} FOR UPDATE")
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, tuple(found), column))
    return sql, tuple(field.attname for field in fields), tuple(converters)


def send_lock(cursor: Any, ids: Iterable[int]) -> None:
    """Execute (or queue, in a pipeline) the lock; `locked_people(cursor)` reads the rows."""
    cursor.execute(_statement()[0], [sorted({int(pk) for pk in ids})])


def locked_people(cursor: Any) -> dict[int, Person]:
    """The locked rows as Person instances, by id (what `lock_people` returns)."""
    _, attnames, converters = _statement()
    people = {}
    for row in cursor.fetchall():
        values = list(row)
        for index, functions, column in converters:
            for function in functions:
                values[index] = function(values[index], column, connection)
        person = Person.from_db(connection.alias, attnames, values)
        people[person.pk] = person
    return people
