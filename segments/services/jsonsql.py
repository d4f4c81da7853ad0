"""SQL for values inside a JSON column (`attributes`, an activity's `properties`), on
PostgreSQL and SQLite, with the meaning `checks.json_kind` gives them in Python.

Each expression is two-valued where a condition needs it: `JsonKind` is never NULL (a missing
value is 'missing'), so a condition guarded by it is true or false, never unknown, and `not`
groups negate exactly.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import F, Func


def _pg_path(keys: tuple[str, ...]) -> list[str]:
    return list(keys)


def _sqlite_path(keys: tuple[str, ...]) -> str:
    return "$" + "".join(f".{json.dumps(key)}" for key in keys)


class _JsonAt(Func):
    """Base: a value at `keys` inside the JSON column `column`."""

    pg = ""
    sqlite = ""
    uses = 1  # how many times the template names the path

    def __init__(self, column: str, keys: tuple[str, ...], *extra: Any,
                 output_field: models.Field) -> None:
        super().__init__(F(column), output_field=output_field)
        self.keys = tuple(keys)
        self.values = extra

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            template, path = self.pg, _pg_path(self.keys)
        else:
            template, path = self.sqlite, _sqlite_path(self.keys)
        sql = template.replace("{col}", column)
        values: list[Any] = []
        # Each template names the path as {path} and the extra values as {x}, in order.
        parts = sql.split("{")
        out = [parts[0]]
        for part in parts[1:]:
            name, rest = part.split("}", 1)
            if name == "":  # a literal {} of the SQL (an empty JSON path or object)
                out.append("{}")
            elif name == "path":
                out.append("%s::text[]" if connection.vendor == "postgresql" else "%s")
                values.append(path)
            elif name == "x":
                out.append("%s")
                values.append(self.values[0])
            else:
                raise ValueError(name)
            out.append(rest)
        return "".join(out), [*params, *values]


class JsonKind(_JsonAt):
    """'string', 'number', 'true', 'false', 'null', 'array', 'object', 'empty' ("", [], {})
    or 'missing'."""

    pg = (
        "COALESCE(CASE jsonb_typeof({col} #> {path}) "
        "WHEN 'boolean' THEN {col} #>> {path} "
        "WHEN 'string' THEN CASE WHEN {col} #>> {path} = '' THEN 'empty' ELSE 'string' END "
        "WHEN 'array' THEN CASE WHEN jsonb_array_length({col} #> {path}) = 0 THEN 'empty' "
        "ELSE 'array' END "
        "WHEN 'object' THEN CASE WHEN {col} #> {path} = '{}'::jsonb THEN 'empty' "
        "ELSE 'object' END "
        "ELSE jsonb_typeof({col} #> {path}) END, 'missing')"
    )
    sqlite = (
        "COALESCE(CASE json_type({col}, {path}) "
        "WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' "
        "WHEN 'text' THEN CASE WHEN json_extract({col}, {path}) = '' THEN 'empty' "
        "ELSE 'string' END "
        "WHEN 'array' THEN CASE WHEN json_array_length({col}, {path}) = 0 THEN 'empty' "
        "ELSE 'array' END "
        "WHEN 'object' THEN CASE WHEN json_extract({col}, {path}) = '{}' THEN 'empty' "
        "ELSE 'object' END "
        "ELSE json_type({col}, {path}) END, 'missing')"
    )

    def __init__(self, column: str, keys: tuple[str, ...]) -> None:
        super().__init__(column, keys, output_field=models.CharField())


class JsonLowerText(_JsonAt):
    """The lower-cased text of a string value (NULL for anything else)."""

    pg = "CASE WHEN jsonb_typeof({col} #> {path}) = 'string' THEN lower({col} #>> {path}) END"
    sqlite = ("CASE WHEN json_type({col}, {path}) = 'text' "
              "THEN lower(json_extract({col}, {path})) END")

    def __init__(self, column: str, keys: tuple[str, ...]) -> None:
        super().__init__(column, keys, output_field=models.TextField())


class JsonNumber(_JsonAt):
    """A number value (NULL for anything else)."""

    pg = ("CASE WHEN jsonb_typeof({col} #> {path}) = 'number' "
          "THEN ({col} #>> {path})::double precision END")
    sqlite = ("CASE WHEN json_type({col}, {path}) IN ('integer', 'real') "
              "THEN json_extract({col}, {path}) END")

    def __init__(self, column: str, keys: tuple[str, ...]) -> None:
        super().__init__(column, keys, output_field=models.FloatField())


class JsonHasItem(_JsonAt):
    """True when the list holds the text (any case), or the object has it as a key."""

    pg = (
        "(EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({col} #> {path}) "
        "= 'array' THEN {col} #> {path} ELSE '[]'::jsonb END) AS item(v) "
        "WHERE jsonb_typeof(item.v) = 'string' AND lower(item.v #>> '{}') = {x}) "
        "OR EXISTS (SELECT 1 FROM jsonb_object_keys(CASE WHEN jsonb_typeof({col} #> {path}) "
        "= 'object' THEN {col} #> {path} ELSE '{}'::jsonb END) AS item(k) "
        "WHERE lower(item.k) = {x}))"
    )
    sqlite = (
        "EXISTS (SELECT 1 FROM json_each({col}, {path}) AS item "
        "WHERE json_type({col}, {path}) IN ('array', 'object') AND lower(CASE "
        "WHEN json_type({col}, {path}) = 'object' THEN item.key "
        "WHEN item.type = 'text' THEN item.value END) = {x})"
    )

    def __init__(self, column: str, keys: tuple[str, ...], text: str) -> None:
        super().__init__(column, keys, text, output_field=models.BooleanField())
