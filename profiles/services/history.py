"""The one history writer, and the one place history reasons are worded.

simple-history writes a row when a model instance is saved or deleted through the ORM. Writes
that skip `save()` — the hot path's hand-written SQL, set-based merges, the bulk demo writer —
write the same rows here, with who (`actor`) and why (`reason`):

- `write_history(instances=…)`: rows holding the instances' values as they are in memory
  (`history_statements` gives the same as statements, to fold into a caller's statement);
- `write_stored_history(model=…, ids=…)`: rows copied in SQL from the rows as stored, one
  statement for any number of ids (what `save()` would have recorded after an `UPDATE`).

Reasons are short sentences staff read on the history page; the ones written by more than one
module are built by the functions below, so they read the same wherever they come from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone
from simple_history.models import HistoricalRecords

from profiles.services.inserts import Sql, insert_sql, stored_fields
from profiles.services.schema import history_model, table

HISTORY_TYPES = ("+", "~", "-")  # created, changed, deleted (simple-history's own letters)

# --- Reason texts -------------------------------------------------------------------------

SEEDED = "seeded (reference set)"
TRACKED_EVENT = "tracked event"


def merge_reason(*, record_id: int, reason: str) -> str:
    """The history reason of a merge's people: `merge #12 (dedup)`."""
    return f"merge #{record_id} ({reason})"


def merge_reason_sql(record_id_sql: str) -> str:
    """`merge_reason` as an SQL expression for `write_stored_history(reason_sql=…)`, when the
    journal id is only known to the database (e.g. `currval` of its sequence); the merge's
    reason is each row's reason (`m.reason`)."""
    return f"'merge #' || ({record_id_sql}) || ' (' || m.reason || ')'"


def undo_reason(*, record_id: int) -> str:
    return f"undo merge #{record_id}"


def first_contact_reason(keys: Iterable[tuple[str, str]]) -> str:
    """Why a profile exists: the first event from IDs never seen before."""
    return "first contact from the website: " + ", ".join(f"{kind} {value}" for kind, value in keys)


# --- Writing ------------------------------------------------------------------------------


def request_actor() -> Any:
    """The signed-in user of the request being served (simple-history's context), if any."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def write_history(
    *,
    instances: Sequence[Model],
    history_type: str,
    actor: Any,
    reason: str | Sequence[str],
    at: datetime | None = None,
) -> None:
    """History rows for `instances` (any mix of Person and Identity), values as in memory.

    `reason` is one text for all, or one per instance. Rows are written in the order given.
    """
    for sql, params in history_statements(
        instances=instances, history_type=history_type, actor=actor, reason=reason, at=at
    ):
        _execute(sql, params)


def history_statements(
    *,
    instances: Sequence[Model],
    history_type: str,
    actor: Any,
    reason: str | Sequence[str],
    at: datetime | None = None,
) -> list[Sql]:
    """`write_history` as statements (one INSERT per model), for a caller that runs them in
    one statement of its own (`recording_writes.run_with`)."""
    _check_type(history_type)
    reasons = _reasons(reason, len(instances))
    at = at or timezone.now()
    by_model: dict[type[Model], list[tuple[Model, str]]] = {}
    for instance, text in zip(instances, reasons, strict=True):
        by_model.setdefault(type(instance), []).append((instance, text))
    statements = []
    for model, group in by_model.items():
        historical = history_model(model)
        limit = _reason_limit(historical)
        fields = stored_fields(historical)  # all but history_id
        rows = []
        for instance, text in group:
            meta = {
                "history_date": at,
                "history_change_reason": text[:limit],
                "history_type": history_type,
                "history_user_id": getattr(actor, "pk", None),
            }
            rows.append([meta[f.attname] if f.attname in meta else getattr(instance, f.attname)
                         for f in fields])
        statements.append(insert_sql(historical, fields, rows))
    return statements


def write_stored_history(
    *,
    model: type[Model],
    ids: Sequence[int],
    history_type: str,
    actor: Any,
    reason: str | Sequence[str],
    at: datetime | None = None,
    reason_sql: str = "m.reason",
) -> None:
    """History rows copied in SQL from the rows of `model` with these ids, as stored now.

    One statement whatever the number of ids; rows in the order of `ids`. `reason` is one
    text or one per id; `reason_sql` may wrap it (see `merge_reason_sql`).
    """
    if ids:
        _execute(*stored_history_statement(
            model=model, ids=ids, history_type=history_type, actor=actor, reason=reason, at=at,
            reason_sql=reason_sql,
        ))


def stored_history_statement(
    *,
    model: type[Model],
    ids: Sequence[int],
    history_type: str,
    actor: Any,
    reason: str | Sequence[str],
    at: datetime | None = None,
    reason_sql: str = "m.reason",
) -> Sql:
    """`write_stored_history` as one statement. Its text depends only on the model and
    `reason_sql` (the values are parameters), so it can be prepared once per connection."""
    _check_type(history_type)
    historical = history_model(model)
    limit = _reason_limit(historical)
    reasons = [text[:limit] for text in _reasons(reason, len(ids))]
    date = historical._meta.get_field("history_date")
    params: list[Any] = [date.get_db_prep_save(at or timezone.now(), connection), history_type,
                         getattr(actor, "pk", None)]
    if connection.vendor == "postgresql":
        params += [[int(pk) for pk in ids], reasons]
    else:
        params.append(json.dumps([[int(pk), text] for pk, text in zip(ids, reasons, strict=True)]))
    return _stored_sql(model, connection.vendor, reason_sql), params


@cache
def _stored_sql(model: type[Model], vendor: str, reason_sql: str) -> str:
    historical = history_model(model)
    quote = connection.ops.quote_name
    tracked = [quote(field.column) for field in historical.tracked_fields]
    meta = ", ".join(quote(historical._meta.get_field(name).column) for name in (
        "history_date", "history_change_reason", "history_type", "history_user"))
    user_type = historical._meta.get_field("history_user").db_type(connection)
    if vendor == "postgresql":
        # Casts: a parameter in a SELECT list has no type of its own (None would be unknown).
        values = f"%s::timestamptz, {reason_sql}, %s::text, %s::{user_type}"
        # The arrays travel in binary (`%b`; every PostgreSQL statement runs on a psycopg
        # server-binding cursor, profiles/services/sql.py): as text, each reason of a dedup
        # chunk's ~2,500 would be searched for characters to quote.
        keys = "unnest(%b::bigint[], %b::text[]) WITH ORDINALITY AS m(id, reason, n)"
    else:
        values = f"%s, {reason_sql}, %s, %s"
        keys = ("(SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS reason,"
                " key AS n FROM json_each(%s)) AS m")
    return (
        f"INSERT INTO {table(historical)} ({', '.join(tracked)}, {meta}) "
        f"SELECT {', '.join('p.' + column for column in tracked)}, {values} "
        f"FROM {table(model)} AS p JOIN {keys} ON p.{quote(model._meta.pk.column)} = m.id "
        f"ORDER BY m.n"
    )


def _execute(sql: str, params: Sequence[Any]) -> None:
    # Imported when first used: the executor's module imports the merge package, whose
    # writers import this module.
    from profiles.services.sql import execute as run

    run(sql, params)


def _check_type(history_type: str) -> None:
    if history_type not in HISTORY_TYPES:
        raise ValueError(f"history_type must be one of {HISTORY_TYPES}, not {history_type!r}")


def _reasons(reason: str | Sequence[str], count: int) -> list[str]:
    if isinstance(reason, str):
        return [reason] * count
    reasons = list(reason)
    if len(reasons) != count:
        raise ValueError(f"{len(reasons)} reasons for {count} rows")
    return reasons


@cache
def _reason_limit(historical: type[Model]) -> int:
    return historical._meta.get_field("history_change_reason").max_length or 100
