"""PostgreSQL fast path for a merge's writes: one round trip instead of five.

The journal entry, the tombstones, the base, their history rows and the `merged` activity
are the same rows the ORM path writes (merge.py `_write_orm`; the same tests run on both
databases). They are sent as one multi-statement string: statements run in order (tombstones
before the base, so a user ID changing hands stays unique among the live at every step), in
the merge's transaction, and the first one returns the new journal id; the later ones use
`currval` of its sequence where they need it ("merge #<id>").

Values go through each field's own `get_db_prep_save` and are quoted by the driver
(`connection.ops.compose_sql`), exactly as the ORM would send them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, connections, models

from profiles.models import Activity, MergeRecord, Person
from profiles.services.merging.state import SNAPSHOT_FIELDS

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


@cache
def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _history_model() -> type[models.Model]:
    return Person.history.model  # simple-history builds a manager on every access


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
    sql = f"INSERT INTO {_table(type(obj))} ({', '.join(columns)}) VALUES ({', '.join(values)})"
    if returning:
        sql += f" RETURNING {db.ops.quote_name(obj._meta.pk.column)}"
    return sql, params


def _update(person_ids: list[int], values: Mapping[str, Any], db) -> Sql:
    sets, params = [], []
    for name, value in values.items():
        field = Person._meta.get_field(name)
        sets.append(f"{db.ops.quote_name(field.column)} = %s")
        params.append(field.get_db_prep_save(value, db))
    ids = ", ".join(str(int(pk)) for pk in person_ids)
    return f"UPDATE {_table(Person)} SET {', '.join(sets)} WHERE id IN ({ids})", params


def _history_row(person: Person, *, actor: Any, now: datetime) -> models.Model:
    history = _history_model()
    return history(
        history_date=now, history_user=actor, history_change_reason="", history_type="~",
        **{field.attname: getattr(person, field.attname) for field in history.tracked_fields},
    )


def write_merge(
    *, record: MergeRecord, base: Person, tombstones: list[Person], activity: Activity,
    actor: Any, reason: str, now: datetime,
) -> None:
    """Insert `record` (its pk is set), write the people, their history and `activity`."""
    db = connections[connection.alias]  # the real connection, not the per-access proxy
    record_id = (f"currval(pg_get_serial_sequence('{MergeRecord._meta.db_table}', "
                 f"'{MergeRecord._meta.pk.column}'))")
    change_reason = (f"'merge #' || {record_id} || %s", [f" ({reason})"])
    given = Activity._meta.get_field("properties").get_db_prep_save(
        activity.properties, db
    )
    properties = (f"(jsonb_build_object('merge_record', {record_id}) || %s::jsonb)", [given])
    statements = [
        _insert(record, db, returning=True),
        _update([person.pk for person in tombstones], {"merged_into": base.pk, "merged_at": now},
                db),
        _update([base.pk], {name: getattr(base, Person._meta.get_field(name).attname)
                            for name in SNAPSHOT_FIELDS}, db),
        *(
            _insert(_history_row(person, actor=actor, now=now), db,
                    raw={"history_change_reason": change_reason})
            for person in [*tombstones, base]
        ),
        _insert(activity, db, raw={"properties": properties}),
    ]
    # One client-side composition for all (the driver quotes every value), one round trip.
    sql = db.ops.compose_sql(
        "; ".join(template for template, _ in statements),
        [param for _, params in statements for param in params],
    )
    with db.cursor() as cursor:
        cursor.execute(sql)
        record.pk = cursor.fetchone()[0]
    record._state.adding = False
    record._state.db = db.alias
    activity.properties = {"merge_record": record.pk, **activity.properties}
