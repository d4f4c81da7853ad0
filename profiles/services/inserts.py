"""INSERT statements for hand-written writers: the hot path's and the history writer's.

On PostgreSQL the rows travel as one JSON document unpacked by `jsonb_to_recordset` (one
parameter instead of one per value, so the statement's text does not grow with the rows and
the server parses the values instead of Python quoting them); elsewhere (SQLite) the values
are bound one by one through each field's `get_db_prep_save`. A model with text JSON columns
(`models.fields.TextJSONField`: the merge journal) travels as one array per column instead
(`_insert_columns`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
from django.db import connection
from django.db.models import Field, JSONField, Model

from profiles.services.schema import table

Sql = tuple[str, list[Any]]


def stored_fields(model: type[Model], *, with_pk: bool = False) -> list[Field]:
    """The fields an INSERT writes: every concrete one but generated columns (and the pk)."""
    return [
        f for f in model._meta.concrete_fields
        if not getattr(f, "generated", False) and (with_pk or not f.primary_key)
    ]


def json_default(value: Any) -> Any:
    # Full precision, unlike DjangoJSONEncoder (which cuts datetimes to milliseconds).
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_document(value: Any) -> str:
    """`value` as compact JSON for the server to parse (`%s::jsonb`): what
    `json.dumps(…, default=json_default)` writes, about five times faster (a dedup chunk's
    journal is ~5 MB of it; `tests/profiles/test_inserts.py` compares both; NaN, which the
    server refused and the API refuses before it gets here, would be written null). Dates and times
    still go through `json_default` (`isoformat`): orjson's own form drops the seconds of an
    old offset (Paris before 1911 was +00:09:21). orjson refuses integers beyond 64 bits (a
    tracked amount may hold one): such a document is written by the standard encoder.

    Keys are tried as text first: orjson's option for other keys (an int key, written as
    json.dumps writes it) slows every dict it encodes, ~1.5 times on a dedup chunk's journal
    (19.7 ms against 13.4 ms for 1,000 entries), whose keys are all text; a document with
    another key is encoded again with it."""
    for options in _ORJSON_OPTIONS:
        try:
            return orjson.dumps(value, default=json_default, option=options).decode()
        except orjson.JSONEncodeError:
            continue
    return json.dumps(value, default=json_default, separators=(",", ":"))


_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME,
                   orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME)


def insert_sql(
    model: type[Model],
    fields: Sequence[Field],
    rows: Sequence[Sequence[Any]],
    *,
    returning: str = "",
) -> Sql:
    """INSERT of `rows` (values in `fields` order, Python values as on the model), in order."""
    columns, types = column_sql(tuple(fields), connection.vendor)
    tail = f" RETURNING {returning}" if returning else ""
    if connection.vendor == "postgresql" and holds_text_json(tuple(fields)):
        return _insert_columns(model, fields, rows, tail)
    if connection.vendor == "postgresql":
        names = [f.column for f in fields]
        document = json_document([dict(zip(names, row, strict=True)) for row in rows])
        sql = (
            f"INSERT INTO {table(model)} ({columns}) SELECT {columns} FROM "
            f"ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({types})) "
            f"WITH ORDINALITY AS r({columns}, n) ORDER BY n{tail}"
        )
        return sql, [document]
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        f.get_db_prep_save(value, connection)
        for row in rows
        for f, value in zip(fields, row, strict=True)
    ]
    sql = f"INSERT INTO {table(model)} ({columns}) VALUES {', '.join([placeholder] * len(rows))}"
    return sql + tail, params


@cache
def column_sql(fields: tuple[Field, ...], vendor: str) -> tuple[str, str]:
    """("col, …", "col type, …") for the fields: built once, the types cost to compute."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    types = ", ".join(f"{quote(f.column)} {f.cast_db_type(connection)}" for f in fields)
    return columns, types


@cache
def holds_text_json(fields: tuple[Field, ...]) -> bool:
    """Whether a column is stored as PostgreSQL `json` (models.fields.TextJSONField)."""
    return any(f.db_type(connection) == "json" for f in fields)


def _insert_columns(model: type[Model], fields: Sequence[Field], rows: Sequence[Sequence[Any]],
                    tail: str) -> Sql:
    """PostgreSQL, a model with text JSON columns (the merge journal): one binary array per
    column instead of one JSON document. Each JSON value travels as its own text (encoded
    here, as `json_document` writes it), which a `json` column only checks; inside a document
    the server would parse it into `jsonb` first — for a dedup chunk's journal, ~3 times the
    cost of the whole INSERT otherwise."""
    columns, _ = column_sql(tuple(fields), connection.vendor)
    sql = (f"INSERT INTO {table(model)} ({columns}) SELECT {columns} FROM "
           f"unnest({_array_casts(tuple(fields))}) WITH ORDINALITY AS r({columns}, n) "
           f"ORDER BY n{tail}")
    params = []
    for index, field in enumerate(fields):
        values = [row[index] for row in rows]
        if isinstance(field, JSONField):
            params.append([None if v is None else json_document(v) for v in values])
        else:
            params.append([field.get_db_prep_save(v, connection) for v in values])
    return sql, params


@cache
def _array_casts(fields: tuple[Field, ...]) -> str:
    """`%b::type[]` per column; JSON values arrive as text and are cast to their column's type."""
    return ", ".join(
        f"%b::text[]::{f.db_type(connection)}[]" if isinstance(f, JSONField)
        else f"%b::{f.cast_db_type(connection)}[]"
        for f in fields
    )
