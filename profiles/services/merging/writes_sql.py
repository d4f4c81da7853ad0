"""PostgreSQL: the writes of 1..N merges in one pipeline (one round trip), set-based.

For every group at once: the journal entries (their ids reserved beforehand, so nothing waits
for an INSERT's answer), the tombstones, the bases, their history rows (the one history
writer's statement) and the `merged` activities — the rows the ORM path writes (merge.py
`_merge_orm`; a property test compares both over every Person field). People's values go
through each field's `get_db_prep_save` and travel as one array per column (`unnest`), new rows
as one JSON document (`inserts.insert_sql`), bound server-side: the statements' text never
changes with the number of groups, so each is planned once per connection. Columns come from
the models and the field-rule registry (fields.py), never from a list written here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any

from django.db import connection, connections, models

from profiles.models import Activity, MergeRecord, Person
from profiles.services.history import stored_history_statement
from profiles.services.inserts import insert_sql, stored_fields
from profiles.services.merging.fields import BASE_FIELDS, TOMBSTONE_FIELDS
from profiles.services.schema import table
from profiles.services.sql import PipelinedSavepoint, pipeline, prepared_cursor


def _array_type(field: models.Field) -> str:
    return f"{field.db_type(connection)}[]"


def _insert(cursor, objs: Sequence[models.Model], *, with_pk: bool) -> None:
    fields = stored_fields(type(objs[0]), with_pk=with_pk)
    cursor.execute(*insert_sql(type(objs[0]), fields,
                               [[getattr(obj, f.attname) for f in fields] for obj in objs]))


@cache
def _update_sql(names: tuple[str, ...]) -> str:
    """UPDATE of `names` on many people, one array per column (stable text). The arrays
    travel in binary (`%b`): as text, every element is searched for characters to escape
    (and each JSON attribute holds some), which cost more than the rest of the statement."""
    qn = connection.ops.quote_name
    fields = [Person._meta.get_field(name) for name in names]
    arrays = ", ".join(["%b::bigint[]", *(f"%b::{_array_type(field)}" for field in fields)])
    sets = ", ".join(f"{qn(field.column)} = m.c{i}" for i, field in enumerate(fields))
    aliases = ", ".join(f"c{i}" for i in range(len(fields)))
    return (f"UPDATE {table(Person)} p SET {sets} FROM unnest({arrays}) AS m(id, {aliases})"
            f" WHERE p.id = m.id")


def _update_params(people: Sequence[Person], names: tuple[str, ...], db) -> list[list]:
    fields = [Person._meta.get_field(name) for name in names]
    get = attrgetter(*(field.attname for field in fields))
    rows = [get(person) for person in people]
    columns = [rows] if len(fields) == 1 else list(zip(*rows, strict=True)) or [() for _ in fields]
    return [[person.pk for person in people],
            *(_prepared(field, column, db) for field, column in zip(fields, columns, strict=True))]


def _prepared(field: models.Field, values: Sequence[Any], db) -> list:
    """`get_db_prep_save` of each value, skipped where it returns the value itself (a text of
    a plain CharField, an aware datetime of a plain DateTimeField, None): a dedup chunk's
    bases hold ~20,000 such values, and the call cost more than the rest of the parameters."""
    prep, kind = field.get_db_prep_save, _passthrough(field)
    if kind is str:
        return [v if v.__class__ is str or v is None else prep(v, db) for v in values]
    if kind is datetime:
        return [v if v is None or (v.__class__ is datetime and v.utcoffset() is not None)
                else prep(v, db) for v in values]
    return [prep(value, db) for value in values]


@cache
def _passthrough(field: models.Field) -> type | None:
    """str or datetime when the field's preparation is Django's own CharField's (identity for
    text and None) or DateTimeField's (identity for aware datetimes and None on PostgreSQL);
    None otherwise (a subclass that prepares values its own way, any other type)."""
    steps = ("get_db_prep_save", "get_db_prep_value", "get_prep_value", "to_python")
    for base, kind in ((models.CharField, str), (models.DateTimeField, datetime)):
        if type(field) is base or (isinstance(field, base) and all(
                getattr(type(field), step) is getattr(base, step) for step in steps)):
            return kind
    return None


GENERATED = tuple(f for f in Person._meta.concrete_fields if getattr(f, "generated", False))
RESERVE_IDS = (f"SELECT nextval(pg_get_serial_sequence('{MergeRecord._meta.db_table}',"
               f" '{MergeRecord._meta.pk.column}')) FROM generate_series(1, %s)")


def send_reserve_ids(cursor, count: int) -> None:
    """Queue the reservation of `count` journal ids (read with `cursor.fetchall()`)."""
    cursor.execute(RESERVE_IDS, [count])


def people_params(bases: Sequence[Person], tombstones: Sequence[Sequence[Person]]
                  ) -> tuple[list[list], list[list]]:
    """The tombstones' and the bases' UPDATE parameters, from the people as planned (a caller
    that has them early builds them while the server is busy, and passes them on)."""
    db = connections[connection.alias]
    dead = [person for group in tombstones for person in group]
    return (_update_params(dead, TOMBSTONE_FIELDS, db), _update_params(bases, BASE_FIELDS, db))


def write_merges(
    *, records: Sequence[MergeRecord], bases: Sequence[Person],
    tombstones: Sequence[Sequence[Person]], activities: Iterable[Activity],
    history: Iterable[tuple[int, str]], actor: Any, now: datetime,
    savepoint: PipelinedSavepoint | None = None, then: Callable[[], None] | None = None,
    params: tuple[list[list], list[list]] | None = None,
) -> None:
    """Write tombstones, then bases (a base may take over a tombstone's user ID, unique among
    the live at every statement), history rows (person id, reason), the journal entries (ids
    set), the activities; run `then` and release `savepoint` after them. Each statement
    leaves as soon as it is built, so the server writes the people while Python encodes the
    journal (the largest parameter) — the order costs nothing: nothing here reads another
    statement's rows but the history, which copies the people as just written.
    `activities` and `history` may be generators: they are read once the people's statements
    have left (a dedup chunk's 1,000 activities take a while to build)."""
    db = connections[connection.alias]  # the real connection, not the per-access proxy
    dead_params, base_params = params or people_params(bases, tombstones)
    generated = ", ".join(connection.ops.quote_name(f.column) for f in GENERATED)
    with pipeline(), prepared_cursor() as cursor, prepared_cursor() as updated:
        cursor.execute(_update_sql(TOMBSTONE_FIELDS), dead_params)
        updated.execute(_update_sql(BASE_FIELDS) + f" RETURNING p.id, {generated}", base_params)
        history = list(history)
        cursor.execute(*stored_history_statement(
            model=Person, ids=[pk for pk, _ in history], history_type="~", actor=actor,
            reason=[reason for _, reason in history], at=now))
        _insert(cursor, records, with_pk=True)
        activities = list(activities)
        _insert(cursor, activities, with_pk=False)
        if then is not None:
            then()
        if savepoint is not None:
            savepoint.release()
        stored = {row[0]: row[1:] for row in updated.fetchall()}
    for base in bases:  # the generated email column: the returned base is the stored row
        for field, value in zip(GENERATED, stored[base.pk], strict=True):
            setattr(base, field.attname, value)
    for obj in (*records, *activities):
        obj._state.adding, obj._state.db = False, db.alias
