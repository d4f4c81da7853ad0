"""Hand-written SQL for the website's hot path: find and lock a person, write activities.

Every tracked event runs these statements, and building them through the ORM costs more CPU
than the database spends running them (about 0.4 ms of query compilation each). The SQL is
built once per backend from the models' metadata, values go through each field's own
`get_db_prep_save` and rows come back through the same converters the ORM applies, so what is
read and written is exactly what the ORM would read and write.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

from profiles.models import Activity, Identity, IdentityKind, Person, Site


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column_list(model: type[Model], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def _lock_clause(alias: str) -> str:
    # FOR NO KEY UPDATE, as the merge engine's lock: it waits for a merge in progress but not
    # for other inserters' foreign-key checks on the same person. SQLite locks the whole
    # database for the transaction (IMMEDIATE), so it needs no row lock.
    return f" FOR NO KEY UPDATE OF {alias}" if connection.vendor == "postgresql" else ""


@cache
def _converters(model: type[Model], vendor: str) -> list[tuple[int, list[Any], Any]]:
    """(column index, converter functions, column) for the columns that need converting."""
    compiler = model._default_manager.all().query.get_compiler(connection=connection)
    columns = [field.get_col(model._meta.db_table) for field in model._meta.concrete_fields]
    return [
        (index, functions, column)
        for index, (functions, column) in compiler.get_converters(columns).items()
    ]


def _from_rows(model: type[Model], rows: Sequence[Sequence[Any]]) -> list[Any]:
    converters = _converters(model, connection.vendor)
    names = [field.attname for field in model._meta.concrete_fields]
    objects = []
    for row in rows:
        values = list(row)
        for index, functions, column in converters:
            for convert in functions:
                values[index] = convert(values[index], column, connection)
        objects.append(model.from_db(connection.alias, names, values))
    return objects


@cache
def _person_by_identity_sql(vendor: str) -> str:
    return (
        f"SELECT {_column_list(Person, 'p')} FROM {_table(Person)} p "
        f"JOIN {_table(Identity)} i ON i.person_id = p.id "
        f"WHERE i.kind = %s AND i.value = %s LIMIT 1{_lock_clause('p')}"
    )


@cache
def _person_by_user_id_sql(vendor: str) -> str:
    return (
        f"SELECT {_column_list(Person, 'p')} FROM {_table(Person)} p "
        f"WHERE p.user_id = %s AND p.merged_into_id IS NULL LIMIT 1{_lock_clause('p')}"
    )


def _one_person(sql: str, params: list[Any]) -> Person | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _from_rows(Person, rows)[0] if rows else None


def lock_person_by_anonymous_id(anonymous_id: str) -> Person | None:
    """The person (maybe a tombstone) holding this device ID, locked; None if unknown."""
    return _one_person(
        _person_by_identity_sql(connection.vendor), [IdentityKind.ANONYMOUS_ID, anonymous_id]
    )


def lock_person_by_user_id(user_id: str) -> Person | None:
    """The live person with this user ID, locked; None if unknown."""
    return _one_person(_person_by_user_id_sql(connection.vendor), [user_id])


def lock_people_by_ids(ids: Sequence[int]) -> dict[int, Person]:
    """Lock the people in id order (concurrent batches queue instead of deadlocking)."""
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {_column_list(Person, 'p')} FROM {_table(Person)} p "
        f"WHERE p.id IN ({placeholders}) ORDER BY p.id{_lock_clause('p')}"
    )
    return {person.pk: person for person in _from_rows(Person, _execute(sql, sorted(ids)))}


def owners_of_keys(
    *, user_ids: Sequence[str], anonymous_ids: Sequence[str]
) -> dict[tuple[str, str], int]:
    """(kind, value) -> id of the person holding it: live people by user ID, and whoever
    (maybe a tombstone) holds each device ID. One statement, not locked."""
    parts, params = [], []
    if user_ids:
        parts.append(
            f"SELECT %s, user_id, id FROM {_table(Person)} WHERE merged_into_id IS NULL "
            f"AND user_id IN ({', '.join(['%s'] * len(user_ids))})"
        )
        params += [IdentityKind.USER_ID, *user_ids]
    if anonymous_ids:
        parts.append(
            f"SELECT %s, value, person_id FROM {_table(Identity)} WHERE kind = %s "
            f"AND value IN ({', '.join(['%s'] * len(anonymous_ids))})"
        )
        params += [IdentityKind.ANONYMOUS_ID, IdentityKind.ANONYMOUS_ID, *anonymous_ids]
    if not parts:
        return {}
    rows = _execute(" UNION ALL ".join(parts), params)
    return {(kind, value): person_id for kind, value, person_id in rows}


def activities_by_message_ids(message_ids: Sequence[str]) -> list[Activity]:
    """Activities already recorded with these message_ids (a resent event's first copy)."""
    if not message_ids:
        return []
    sql = (
        f"SELECT {_column_list(Activity, 'a')} FROM {_table(Activity)} a "
        f"WHERE a.message_id IN ({', '.join(['%s'] * len(message_ids))})"
    )
    return _from_rows(Activity, _execute(sql, list(message_ids)))


@cache
def _site_by_prefix_sql(vendor: str) -> str:
    return f"SELECT {_column_list(Site, 's')} FROM {_table(Site)} s WHERE s.key_prefix = %s"


def site_by_key_prefix(prefix: str) -> Site | None:
    with connection.cursor() as cursor:
        cursor.execute(_site_by_prefix_sql(connection.vendor), [prefix])
        rows = cursor.fetchall()
    return _from_rows(Site, rows)[0] if rows else None


def _insert_fields() -> list[Field]:
    return [field for field in Activity._meta.concrete_fields if not field.primary_key]


def insert_activities(
    rows: list[Activity], *, update_people: Sequence[tuple[Person, Sequence[str]]] = ()
) -> None:
    """INSERT the activities (one statement) and UPDATE the named fields of the people.

    On PostgreSQL the UPDATE rides in the same statement as a data-modifying WITH, so recording
    an event costs one round trip. Sets each row's pk as a save() would: PostgreSQL returns the
    ids of a multi-row VALUES insert in row order (bulk_create relies on the same).
    """
    update = _update_people_sql(update_people) if update_people else None
    if not rows:
        if update:
            _execute(*update)
        return
    insert_sql, insert_params = _insert_sql(rows)
    if update and connection.vendor == "postgresql":
        ids = _execute(
            f"WITH updated AS ({update[0]}) {insert_sql}", [*update[1], *insert_params]
        )
    else:
        if update:
            _execute(*update)
        ids = _execute(insert_sql, insert_params)
    for row, (row_id,) in zip(rows, ids, strict=True):
        row.pk = row_id
        row._state.adding = False
        row._state.db = connection.alias


def _execute(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _insert_sql(rows: list[Activity]) -> tuple[str, list[Any]]:
    if connection.vendor == "postgresql":
        return _insert_sql_json(rows)
    fields = _insert_fields()
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list[Any] = []
    for row in rows:
        for field in fields:
            params.append(field.get_db_prep_save(field.pre_save(row, True), connection))
    sql = (
        f"INSERT INTO {_table(Activity)} ({columns}) VALUES "
        f"{', '.join([placeholder] * len(rows))} RETURNING id"
    )
    return sql, params


def _recordset(fields: Sequence[Field], key: str = "") -> str:
    """`jsonb_to_recordset(%s::jsonb) WITH ORDINALITY AS alias(col type, …, n)` columns list."""
    quote = connection.ops.quote_name
    columns = [f"{quote(key)} bigint"] if key else []
    columns += [f"{quote(field.column)} {field.cast_db_type(connection)}" for field in fields]
    return ", ".join(columns)


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    # Full precision, unlike DjangoJSONEncoder (which cuts datetimes to milliseconds).
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _insert_sql_json(rows: list[Activity]) -> tuple[str, list[Any]]:
    """PostgreSQL: the rows travel as one JSON document, unpacked by jsonb_to_recordset.

    One parameter instead of one per value: building, quoting and parsing a thousand
    placeholders costs more CPU than the database spends inserting a batch.
    """
    fields = _insert_fields()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    document = _json(
        [{field.column: getattr(row, field.attname) for field in fields} for row in rows]
    )
    sql = (
        f"INSERT INTO {_table(Activity)} ({columns}) SELECT {columns} FROM "
        f"ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({_recordset(fields)})) "
        f"WITH ORDINALITY AS r({columns}, n) ORDER BY n RETURNING id"
    )
    return sql, [document]


def _update_people_sql(
    people: Sequence[tuple[Person, Sequence[str]]],
) -> tuple[str, list[Any]]:
    """One UPDATE writing the in-memory values of the named fields of locked people.

    Several people are updated FROM a JSON recordset, one row each (Django's bulk_update builds
    a CASE per row and field, which costs more than the rest of a batch); every field named for
    anyone is written for everyone, with the value the person already has when unchanged.
    """
    quote = connection.ops.quote_name
    names = sorted({name for _, fields in people for name in fields})
    fields = [Person._meta.get_field(name) for name in names]
    if len(people) == 1 or connection.vendor != "postgresql":
        if len(people) > 1:  # SQLite: the whole database is locked anyway; one by one
            for person, _ in people[1:]:
                _execute(*_update_people_sql([(person, names)]))
        person = people[0][0]
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        params = [_prep(field, person) for field in fields]
        return f"UPDATE {_table(Person)} SET {assignments} WHERE id = %s", [*params, person.pk]
    document = _json(
        [
            {"id": person.pk, **{field.column: getattr(person, field.attname) for field in fields}}
            for person, _ in people
        ]
    )
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in fields)
    sql = (
        f"UPDATE {_table(Person)} AS p SET {assignments} FROM "
        f"jsonb_to_recordset(%s::jsonb) AS v({_recordset(fields, key='id')}) WHERE p.id = v.id"
    )
    return sql, [document]


def _prep(field: Field, person: Person) -> Any:
    return field.get_db_prep_save(getattr(person, field.attname), connection)
