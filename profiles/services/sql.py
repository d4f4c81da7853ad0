"""The one SQL executor for hand-written statements: Django's own connection and transaction,
server-side binding, prepared once per connection, several statements in one pipeline.

Django binds parameters on the client (psycopg's ClientCursor), so PostgreSQL parses and
plans every statement again; for a tracked event or a merge that planning costs more than
running it. These statements are few and fixed (only the values change), so on PostgreSQL they
run on a server-side binding cursor of Django's connection, prepared on first use (psycopg
keeps prepared statements per connection); statements that do not need each other's answers
are queued in one pipeline (`pipeline()`: one round trip). The cursors are wrapped like
Django's own (`make_cursor` / `make_debug_cursor`), so errors are `IntegrityError`,
`OperationalError`… as everywhere else (also those reported only when a pipeline syncs), and
`CaptureQueriesContext`, `connection.queries` and execute wrappers see every statement.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.utils import CursorDebugWrapper
from psycopg import pq


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


# Django opens connections with prepare_threshold=None, which turns preparing off altogether
# (even `prepare=True`). It is lifted only while one of these cursors sends a statement, to a
# threshold never reached: nothing else on the connection is prepared or even counted.
_ONLY_WHEN_ASKED = 2**31


class _PreparedCursor(psycopg.Cursor):
    """A server-binding cursor that prepares every statement it executes."""

    def execute(self, query, params=None, *, prepare=None, binary=None):  # noqa: ANN001, ANN201
        conn = self._conn
        threshold = conn.prepare_threshold
        if threshold is None:
            conn.prepare_threshold = _ONLY_WHEN_ASKED
        try:
            return super().execute(query, params, prepare=True if prepare is None else prepare,
                                   binary=binary)
        finally:
            conn.prepare_threshold = threshold


class _StatementDebugCursor(CursorDebugWrapper):
    """Django's debug cursor, logging the statement itself: it reads the SQL back from the
    psycopg cursor, which keeps none for a prepared statement (the log would show None)."""

    def execute(self, sql, params=None):  # noqa: ANN001, ANN201
        with self.debug_sql(_rendered(sql, params)):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


def _rendered(sql: str, params: Any) -> str:
    try:
        return connection.ops.compose_sql(sql, params)
    except Exception:  # a value the client-side renderer cannot quote: the text is enough
        return sql


def prepared_cursor(*, prepare: bool = True) -> Any:
    """A Django cursor wrapper over a server-binding psycopg cursor that prepares every
    statement (`prepare=False`: none, for one-off statements such as SAVEPOINT)."""
    connection.ensure_connection()
    raw = (_PreparedCursor if prepare else psycopg.Cursor)(connection.connection)
    if connection.queries_logged:
        return _StatementDebugCursor(raw, connection)
    return connection.make_cursor(raw)


@contextmanager
def pipeline() -> Iterator[None]:
    """Statements executed inside are sent together; their results come at the end (or at the
    first `fetch…`). Database errors surface as Django's exceptions."""
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


class PipelinedSavepoint:
    """What a nested `atomic()` does (a savepoint, rolled back on any error), except that the
    SAVEPOINT and its RELEASE are queued in the caller's pipelines instead of costing a round
    trip each. Merges never nest, so one fixed name is enough (a name used twice in a
    transaction refers to the latest savepoint)."""

    NAME = "onefold_merge"

    def open(self) -> None:
        with prepared_cursor(prepare=False) as cursor:
            cursor.execute(f"SAVEPOINT {self.NAME}")

    def release(self) -> None:
        with prepared_cursor(prepare=False) as cursor:
            cursor.execute(f"RELEASE SAVEPOINT {self.NAME}")

    def roll_back(self) -> None:
        """After an error: undo everything since `open`; the caller's transaction goes on."""
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"ROLLBACK TO SAVEPOINT {self.NAME}")
                cursor.execute(f"RELEASE SAVEPOINT {self.NAME}")
        except Exception:
            transaction.set_rollback(True)  # as atomic() does when it cannot roll back
            raise
