"""Running the hot path's hand-written statements, prepared once per connection.

Django binds parameters on the client (psycopg's ClientCursor), so PostgreSQL parses and
plans every statement again; for a tracked event that planning costs more than running it.
These statements are few and fixed, so on PostgreSQL they run on a server-side binding cursor
of Django's own connection and transaction, prepared on first use (psycopg keeps the prepared
statements per connection; see `merging.pg` for why Django's connection needs its
`prepare_threshold` lifted for that). The cursor is wrapped like Django's own, so errors are
IntegrityError and OperationalError as everywhere else, and query logging sees the statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import pq

from profiles.services.merging.pg import prepared_cursor


def execute(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement in the current transaction; its rows (none for a plain write)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall() if cursor.description else []
    with prepared_cursor() as cursor:
        cursor.execute(sql, list(params))
        # Not cursor.description: it builds a Column object per column, every time.
        result = cursor.pgresult
        if result is None or result.status != pq.ExecStatus.TUPLES_OK:
            return []
        return cursor.fetchall()
