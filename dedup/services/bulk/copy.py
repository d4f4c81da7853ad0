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


def history_rows(instances: Sequence[models.Model], *, date) -> list[models.Model]:
    """Historical rows as simple-history's bulk_history_create builds them (update: "~")."""
    if not instances:
        return []
    history = type(instances[0]).history.model
    tracked = history.tracked_fields
    return [
        history(
            history_date=date,
            history_user_id=getattr(getattr(obj, "_history_user", None), "pk", None),
            history_change_reason=getattr(obj, "_change_reason", "") or "",
            history_type="~",
            **{field.attname: getattr(obj, field.attname) for field in tracked},
        )
        for obj in instances
    ]
