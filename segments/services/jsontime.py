"""Dates inside attributes (profiling's `first_touch.at`, `latest_touch.at`,
`purchases.last_at`, a website's own ISO times) for `within_days` / `older_than_days`, with
one meaning in SQL and in Python.

A value is a date when it is a JSON string of exactly this shape (`PATTERN`): `2026-01-31`,
`2026-01-31T10:00`, `2026-01-31 10:00:00.5`, `2026-01-31T10:00:00+02:00`, `…Z` — a real day
of a real month, hours 00–23, up to 6 digits of a second, an offset up to ±14:59; without an
offset it is UTC. Anything else (another text, a number, null, missing) is no date, and no
date fails both operators, as an absent person date does.

PostgreSQL checks the shape with the same regular expression, the day against the month's
length, and only then casts (a cast of a bad date would fail the whole statement); SQLite
calls `parse_moment` itself (a function registered on its connection).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import models

from segments.services.jsonsql import _JsonAt

_CORE = (r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
         r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
         r"(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?")
PATTERN = f"^{_CORE}$"  # PostgreSQL's regular expressions read it as Python's do
_SHAPE = re.compile(_CORE)
SQLITE_FUNCTION = "onefold_json_time"


def parse_moment(value: Any) -> dt.datetime | None:
    """The aware datetime a JSON value names, or None when it is no date (see above)."""
    if not isinstance(value, str) or _SHAPE.fullmatch(value) is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:  # the 31st of a 30-day month, the 29th of February of 2026
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _sqlite_moment(value: Any) -> str | None:
    """SQLite: the moment as Django stores datetimes there (naive UTC text), comparable."""
    moment = parse_moment(value)
    return None if moment is None else str(moment.astimezone(dt.UTC).replace(tzinfo=None))


class JsonTime(_JsonAt):
    """The moment a date string names (NULL for anything that is no date)."""

    pg = (
        "CASE WHEN jsonb_typeof({col} #> {path}) = 'string' AND ({col} #>> {path}) ~ {x} "
        "THEN CASE WHEN substr({col} #>> {path}, 9, 2)::int <= extract(day FROM make_date("
        "substr({col} #>> {path}, 1, 4)::int, substr({col} #>> {path}, 6, 2)::int, 1) "
        "+ interval '1 month' - interval '1 day') "
        "THEN ({col} #>> {path})::timestamptz END END"
    )
    sqlite = (f"{SQLITE_FUNCTION}(CASE WHEN json_type({{col}}, {{path}}) = 'text' "
              "THEN json_extract({col}, {path}) END)")

    def __init__(self, column: str, keys: tuple[str, ...]) -> None:
        super().__init__(column, keys, PATTERN, output_field=models.DateTimeField())

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list]:
        if connection.vendor == "sqlite":  # registered on the connection that will run it
            connection.ensure_connection()
            connection.connection.create_function(SQLITE_FUNCTION, 1, _sqlite_moment,
                                                  deterministic=True)
        return super().as_sql(compiler, connection, **extra_context)
