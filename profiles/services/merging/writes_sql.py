"""PostgreSQL: the writes of 1..N merges in one pipeline (one round trip), set-based.

For every group at once: the journal entries (their ids reserved beforehand, so nothing waits
for an INSERT's answer), the tombstones, the bases, their history rows and the `merged`
activities — the rows the ORM path writes (merge.py `_write_orm`; a property test compares
both over every Person field). Values go through each field's `get_db_prep_save` and travel as
one array per column (`unnest`), bound server-side: the statements' text never changes with
the number of groups, so each is planned once per connection. Columns come from the models and
the field-rule registry (fields.py), never from a list written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, connections, models

from profiles.models import Activity, MergeRecord, Person
from profiles.services.merging.fields import BASE_FIELDS, TOMBSTONE_FIELDS
from profiles.services.merging.pg import PipelinedSavepoint, pipeline, prepared_cursor
from profiles.services.schema import history_model, table


def _array_type(field: models.Field) -> str:
    return f"{field.db_type(connection)}[]"


@cache
def _insert_sql(model: type[models.Model], with_pk: bool) -> tuple[str, tuple[models.Field, ...]]:
    """INSERT of many rows from one array per column (without the primary key: the sequence
    gives it)."""
    qn = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields
                   if not getattr(f, "generated", False) and (with_pk or not f.primary_key))
    arrays = ", ".join(f"%s::{_array_type(field)}" for field in fields)
    return (f"INSERT INTO {table(model)} ({', '.join(qn(f.column) for f in fields)})"
            f" SELECT * FROM unnest({arrays})", fields)


def _insert(cursor, objs: Sequence[models.Model], db) -> None:
    sql, fields = _insert_sql(type(objs[0]), objs[0].pk is not None)
    cursor.execute(sql, [[field.get_db_prep_save(field.pre_save(obj, add=True), db)
                          for obj in objs] for field in fields])


@cache
def _update_sql(names: tuple[str, ...]) -> str:
    """UPDATE of `names` on many people, one array per column (stable text)."""
    qn = connection.ops.quote_name
    fields = [Person._meta.get_field(name) for name in names]
    arrays = ", ".join(["%s::bigint[]", *(f"%s::{_array_type(field)}" for field in fields)])
    sets = ", ".join(f"{qn(field.column)} = m.c{i}" for i, field in enumerate(fields))
    aliases = ", ".join(f"c{i}" for i in range(len(fields)))
    return (f"UPDATE {table(Person)} p SET {sets} FROM unnest({arrays}) AS m(id, {aliases})"
            f" WHERE p.id = m.id")


def _update_params(people: Sequence[Person], names: tuple[str, ...], db) -> list[list]:
    fields = [Person._meta.get_field(name) for name in names]
    return [[person.pk for person in people], *(
        [field.get_db_prep_save(getattr(person, field.attname), db) for person in people]
        for field in fields
    )]


@cache
def _history_sql() -> str:
    """History rows copied from the people rows just written, with each one's reason."""
    history = history_model(Person)
    qn = connection.ops.quote_name
    tracked = [qn(field.column) for field in history.tracked_fields]
    date, reason, kind, user = (history._meta.get_field(name) for name in (
        "history_date", "history_change_reason", "history_type", "history_user"))
    meta = ", ".join(qn(field.column) for field in (date, reason, kind, user))
    return (f"INSERT INTO {table(history)} ({', '.join(tracked)}, {meta})"
            f" SELECT {', '.join('p.' + column for column in tracked)},"
            f" %s::{date.db_type(connection)}, m.reason, '~', %s::{user.db_type(connection)}"
            f" FROM {table(Person)} p JOIN unnest(%s::bigint[], %s::text[])"
            f" WITH ORDINALITY AS m(id, reason, n) ON p.id = m.id ORDER BY m.n")


GENERATED = tuple(f for f in Person._meta.concrete_fields if getattr(f, "generated", False))
RESERVE_IDS = (f"SELECT nextval(pg_get_serial_sequence('{MergeRecord._meta.db_table}',"
               f" '{MergeRecord._meta.pk.column}')) FROM generate_series(1, %s)")


def send_reserve_ids(cursor, count: int) -> None:
    """Queue the reservation of `count` journal ids (read with `cursor.fetchall()`)."""
    cursor.execute(RESERVE_IDS, [count])


def write_merges(
    *, records: Sequence[MergeRecord], bases: Sequence[Person],
    tombstones: Sequence[Sequence[Person]], activities: Sequence[Activity],
    history: Sequence[tuple[int, str]], actor: Any, now: datetime,
    savepoint: PipelinedSavepoint | None = None,
) -> None:
    """Insert the journal entries (ids set), write tombstones, then bases (a base may take
    over a tombstone's user ID, unique among the live at every statement), history rows
    (person id, reason), the activities; release `savepoint` after them."""
    db = connections[connection.alias]  # the real connection, not the per-access proxy
    dead = [person for group in tombstones for person in group]
    generated = ", ".join(connection.ops.quote_name(f.column) for f in GENERATED)
    with pipeline(), prepared_cursor() as cursor, prepared_cursor() as updated:
        _insert(cursor, records, db)
        cursor.execute(_update_sql(TOMBSTONE_FIELDS), _update_params(dead, TOMBSTONE_FIELDS, db))
        updated.execute(_update_sql(BASE_FIELDS) + f" RETURNING p.id, {generated}",
                        _update_params(bases, BASE_FIELDS, db))
        cursor.execute(_history_sql(), [now, getattr(actor, "pk", None),
                                        [pk for pk, _ in history],
                                        [reason for _, reason in history]])
        _insert(cursor, activities, db)
        if savepoint is not None:
            savepoint.release()
        stored = {row[0]: row[1:] for row in updated.fetchall()}
    for base in bases:  # the generated email column: the returned base is the stored row
        for field, value in zip(GENERATED, stored[base.pk], strict=True):
            setattr(base, field.attname, value)
    for obj in (*records, *activities):
        obj._state.adding, obj._state.db = False, db.alias
