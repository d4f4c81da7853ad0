"""Hand-written SQL for the website's hot path: find and lock a person, write activities.

Every tracked event runs these statements, and building them through the ORM costs more CPU
than the database spends running them (about 0.4 ms of query compilation each). The SQL is
built once per backend from the models' metadata, values go through each field's own
`get_db_prep_save` and rows come back through the same converters the ORM applies, so what is
read and written is exactly what the ORM would read and write.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def _update_people_sql(
    people: Sequence[tuple[Person, Sequence[str]]],
) -> tuple[str, list[Any]]:
    """One UPDATE writing the in-memory values of the named fields of locked people.

    Several people are updated FROM (VALUES …), one row each (Django's bulk_update builds a
    CASE per row and field, which costs more than the rest of a batch); every field named for
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
    row = "(%s::bigint, " + ", ".join(
        f"%s::{field.cast_db_type(connection)}" for field in fields
    ) + ")"
    params = []
    for person, _ in people:
        params.append(person.pk)
        params.extend(_prep(field, person) for field in fields)
    columns = ", ".join(quote(field.column) for field in fields)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in fields)
    sql = (
        f"UPDATE {_table(Person)} AS p SET {assignments} FROM (VALUES "
        f"{', '.join([row] * len(people))}) AS v(id, {columns}) WHERE p.id = v.id"
    )
    return sql, params


def _prep(field: Field, person: Person) -> Any:
    return field.get_db_prep_save(getattr(person, field.attname), connection)
