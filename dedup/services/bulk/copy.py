"""Fast inserts for the chunk merge: PostgreSQL COPY instead of bulk_create.

Django's bulk_create on PostgreSQL quotes every parameter in Python (client-side binding);
for JSON-heavy rows (journal snapshots, history) that costs seconds per thousand rows. COPY
streams the rows through psycopg's C adapters. Ids the caller needs (journal entries) are
taken from the table's own sequence first, so they are the ids an INSERT would have given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, models


def _db_value(field: models.Field, obj: models.Model):
    value = getattr(obj, field.attname)
    if value is not None and isinstance(field, models.JSONField):
        return json.dumps(value, cls=field.encoder)
    return value


def copy_insert(objs: Sequence[models.Model], *, with_ids: bool = False) -> None:
    """Insert `objs` (one model); with `with_ids`, allocate and set their primary keys first."""
    if not objs:
        return
    model = type(objs[0])
    opts = model._meta
    table = connection.ops.quote_name(opts.db_table)
    if with_ids:
        _allocate_ids(model, objs)
    fields = [f for f in opts.concrete_fields if with_ids or not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {table} ({columns}) FROM STDIN"
    ) as copy:
        for obj in objs:
            copy.write_row([_db_value(f, obj) for f in fields])


def _allocate_ids(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    pk = model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    for obj, new_id in zip(objs, sorted(ids), strict=True):
        setattr(obj, pk.attname, new_id)
        obj._state.adding = False


def history_from_table(
    model: type[models.Model], *, ids: Sequence[int], reasons: Sequence[str], date, actor_id
) -> None:
    """History rows ("~") copied in SQL from the rows as they now are: what save() records.

    One INSERT … SELECT for the whole chunk instead of a Python object per person.
    """
    if not ids:
        return
    history = model.history.model
    quote = connection.ops.quote_name
    tracked = [quote(field.column) for field in history.tracked_fields]
    columns = ", ".join(tracked)
    selected = ", ".join(f"p.{column}" for column in tracked)
    execute(
        f"INSERT INTO {quote(history._meta.db_table)} ({columns}, history_date, "
        f"history_change_reason, history_type, history_user_id) "
        f"SELECT {selected}, %s, m.reason, '~', %s FROM {quote(model._meta.db_table)} p "
        f"JOIN unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS m(id, reason, n) "
        f"ON p.id = m.id ORDER BY m.n",
        [date, actor_id, list(ids), list(reasons)],
    )


def execute(sql: str, params: Sequence) -> list[tuple]:
    """Run one statement with server-side binding (PostgreSQL).

    Django's cursor binds client-side: it spells every array parameter out as SQL text in
    Python, which for the chunk's id and value arrays costs more than the statement itself.
    A plain psycopg cursor on the same connection (same transaction) sends them as parameters.
    """
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
