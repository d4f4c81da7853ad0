"""PostgreSQL fast path for a merge's writes: five prepared statements, one round trip.

The journal entry, the tombstones, the base, their history rows and the `merged` activity
are the same rows the ORM path writes (merge.py `_write_orm`; the same tests run on both
databases). They are queued in one pipeline (pg.py) and run in order, in the merge's
transaction: the journal INSERT returns the new id; the later statements use `currval` of
its sequence where they need it ("merge #<id>"). The history rows are copied by one
`INSERT … SELECT` from the people rows just updated, so they hold exactly what was stored.

Values go through each field's own `get_db_prep_save` and are bound server-side: the
statements' text never changes, so PostgreSQL plans each one once per connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, connections, models

from profiles.models import Activity, MergeRecord, Person
from profiles.services.merging.fields import BASE_FIELDS, TOMBSTONE_FIELDS
from profiles.services.merging.pg import PipelinedSavepoint, pipeline, prepared_cursor
from profiles.services.schema import history_model, table

Sql = tuple[str, list]  # a template with %s placeholders and its parameters


@cache
def _columns(model: type[models.Model]) -> tuple[tuple[models.Field, str], ...]:
    """Stored fields and their quoted columns (computed once per model: merges are hot)."""
    quote = connection.ops.quote_name
    return tuple(
        (field, quote(field.column))
        for field in model._meta.concrete_fields
        if not getattr(field, "generated", False)
    )


def _insert(obj: models.Model, db, raw: Mapping[str, Sql] | None = None, returning=False) -> Sql:
    """INSERT of one unsaved instance; `raw` maps attnames to SQL expressions."""
    raw = raw or {}
    columns, values, params = [], [], []
    for field, column in _columns(type(obj)):
        value = field.pre_save(obj, add=True)
        if field.primary_key and value is None:
            continue  # the sequence gives it
        columns.append(column)
        expression, expression_params = raw.get(field.attname) or (
            "%s", [field.get_db_prep_save(value, db)]
        )
        values.append(expression)
        params += expression_params
    sql = f"INSERT INTO {table(type(obj))} ({', '.join(columns)}) VALUES ({', '.join(values)})"
    if returning:
        sql += f" RETURNING {db.ops.quote_name(obj._meta.pk.column)}"
    return sql, params


@cache
def _update(person_ids_param: str, names: tuple[str, ...]) -> str:
    """UPDATE of `names` on the people whose ids the array parameter holds (stable text)."""
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(Person._meta.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {table(Person)} SET {sets} WHERE id = ANY({person_ids_param})"


def _values(person: Person, names: tuple[str, ...], db) -> list:
    return [Person._meta.get_field(name).get_db_prep_save(
        getattr(person, Person._meta.get_field(name).attname), db) for name in names]


@cache
def _history_insert() -> str:
    """History rows copied from the people rows just written: exactly their stored values."""
    history = history_model(Person)
    qn = connection.ops.quote_name
    tracked = [qn(field.column) for field in history.tracked_fields]
    date, reason, kind, user = (history._meta.get_field(name) for name in (
        "history_date", "history_change_reason", "history_type", "history_user"))
    meta = ", ".join(qn(field.column) for field in (date, reason, kind, user))
    # Casts: a parameter in a SELECT list has no type of its own (None would be unknown).
    return (f"INSERT INTO {table(history)} ({', '.join(tracked)}, {meta})"
            f" SELECT {', '.join(tracked)}, %s::{date.db_type(connection)},"
            f" 'merge #' || {RECORD_ID} || %s::text, '~', %s::{user.db_type(connection)}"
            f" FROM {table(Person)} WHERE id = ANY(%s::bigint[])"
            f" ORDER BY id = %s, id")  # tombstones first, then the base, like the ORM path


RECORD_ID = (f"currval(pg_get_serial_sequence('{MergeRecord._meta.db_table}', "
             f"'{MergeRecord._meta.pk.column}'))")
GENERATED = tuple(f for f in Person._meta.concrete_fields if getattr(f, "generated", False))
GENERATED_BACK = " RETURNING " + ", ".join(f'"{field.column}"' for field in GENERATED)


def write_merge(
    *, record: MergeRecord, base: Person, tombstones: list[Person], activity: Activity,
    actor: Any, reason: str, now: datetime, savepoint: PipelinedSavepoint | None = None,
) -> None:
    """Insert `record` (its pk is set), write the people, their history and `activity`;
    release `savepoint` (the merge's, when nested in the caller's transaction) after them."""
    db = connections[connection.alias]  # the real connection, not the per-access proxy
    ids = [person.pk for person in tombstones]
    properties = (f"(jsonb_build_object('merge_record', {RECORD_ID}) || %s::jsonb)",
                  [Activity._meta.get_field("properties").get_db_prep_save(
                      activity.properties, db)])
    record_sql, record_params = _insert(record, db, returning=True)
    activity_sql, activity_params = _insert(activity, db, raw={"properties": properties})
    # Statements run in this order (tombstones before the base, so a user ID changing hands
    # stays unique among the live at every step), all in one round trip.
    with (pipeline(), prepared_cursor() as inserted, prepared_cursor() as cursor,
          prepared_cursor() as updated):
        inserted.execute(record_sql, record_params)
        cursor.execute(_update("%s::bigint[]", TOMBSTONE_FIELDS),
                       [*_values(tombstones[0], TOMBSTONE_FIELDS, db), ids])
        # The generated email column comes back: the returned base is then the stored row.
        updated.execute(_update("%s::bigint[]", BASE_FIELDS) + GENERATED_BACK,
                        [*_values(base, BASE_FIELDS, db), [base.pk]])
        cursor.execute(_history_insert(), [now, f" ({reason})", getattr(actor, "pk", None),
                                           [*ids, base.pk], base.pk])
        cursor.execute(activity_sql, activity_params)
        if savepoint is not None:
            savepoint.release()
        record.pk = inserted.fetchone()[0]
        for field, value in zip(GENERATED, updated.fetchone(), strict=True):
            setattr(base, field.attname, value)
    record._state.adding = False
    record._state.db = db.alias
    activity.properties = {"merge_record": record.pk, **activity.properties}
