"""Hand-written SQL for the website's hot path: find and lock people, sites and activities.

Every tracked event runs these statements, and building them through the ORM costs more CPU
than the database spends running them (about 0.4 ms of query compilation each). The SQL is
built once per backend from the models' metadata and rows come back through the same
converters the ORM applies, so what is
read is exactly what the ORM would read. The writes are in `recording_writes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from profiles.models import Activity, Identity, IdentityKind, Person, Site
from profiles.services.schema import table
from profiles.services.sql import execute


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
        f"SELECT {_column_list(Person, 'p')} FROM {table(Person)} p "
        f"JOIN {table(Identity)} i ON i.person_id = p.id "
        f"WHERE i.kind = %s AND i.value = %s LIMIT 1{_lock_clause('p')}"
    )


@cache
def _person_by_user_id_sql(vendor: str) -> str:
    return (
        f"SELECT {_column_list(Person, 'p')} FROM {table(Person)} p "
        f"WHERE p.user_id = %s AND p.merged_into_id IS NULL LIMIT 1{_lock_clause('p')}"
    )


def _one_person(sql: str, params: list[Any]) -> Person | None:
    rows = execute(sql, params)
    return _from_rows(Person, rows)[0] if rows else None


def lock_person_by_anonymous_id(anonymous_id: str) -> Person | None:
    """The person (maybe a tombstone) holding this device ID, locked; None if unknown."""
    return _one_person(
        _person_by_identity_sql(connection.vendor), [IdentityKind.ANONYMOUS_ID, anonymous_id]
    )


def lock_person_by_user_id(user_id: str) -> Person | None:
    """The live person with this user ID, locked; None if unknown."""
    return _one_person(_person_by_user_id_sql(connection.vendor), [user_id])


def lock_people_by_ids(ids: Sequence[int]) -> dict[int, Person]:
    """Lock the people in id order (concurrent batches queue instead of deadlocking)."""
    if not ids:
        return {}
    condition, params = _in("p.id", sorted(ids))
    sql = (
        f"SELECT {_column_list(Person, 'p')} FROM {table(Person)} p "
        f"WHERE {condition} ORDER BY p.id{_lock_clause('p')}"
    )
    return {person.pk: person for person in _from_rows(Person, execute(sql, params))}


# Longer chains than this are a bug (merges point at a live base); the walk stops there.
MAX_TOMBSTONE_HOPS = 50


def live_ends(ids: Sequence[int]) -> dict[int, int]:
    """person id -> id of the live person it resolves to (following merged_into), for many
    people in one statement, without locking. The set-based twin of the merge engine's
    one-person tombstone follower; ids that do not exist are left out."""
    if not ids:
        return {}
    condition, params = _in("id", sorted(set(ids)))
    person = table(Person)
    sql = (
        f"WITH RECURSIVE walk(start, id, next, hops) AS ("
        f"SELECT id, id, merged_into_id, 0 FROM {person} WHERE {condition} "
        f"UNION ALL SELECT w.start, p.id, p.merged_into_id, w.hops + 1 FROM walk w "
        f"JOIN {person} p ON p.id = w.next WHERE w.hops < %s) "
        f"SELECT start, id FROM walk WHERE next IS NULL"
    )
    return dict(execute(sql, [*params, MAX_TOMBSTONE_HOPS]))


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column` among `values`: one array parameter on PostgreSQL, so the statement's text
    (and its prepared plan) is the same for any number of values."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def owners_of_keys(
    *, user_ids: Sequence[str], anonymous_ids: Sequence[str]
) -> dict[tuple[str, str], int]:
    """(kind, value) -> id of the person holding it: live people by user ID, and whoever
    (maybe a tombstone) holds each device ID. One statement, not locked."""
    parts, params = [], []
    if user_ids:
        condition, values = _in("user_id", user_ids)
        parts.append(
            f"SELECT %s, user_id, id FROM {table(Person)} WHERE merged_into_id IS NULL "
            f"AND {condition}"
        )
        params += [IdentityKind.USER_ID, *values]
    if anonymous_ids:
        condition, values = _in("value", anonymous_ids)
        parts.append(
            f"SELECT %s, value, person_id FROM {table(Identity)} WHERE kind = %s "
            f"AND {condition}"
        )
        params += [IdentityKind.ANONYMOUS_ID, IdentityKind.ANONYMOUS_ID, *values]
    if not parts:
        return {}
    rows = execute(" UNION ALL ".join(parts), params)
    return {(kind, value): person_id for kind, value, person_id in rows}


def activities_by_digests(digests: Sequence[str], *, site_id: int | None) -> list[Activity]:
    """Activities the site already recorded for these message digests (a resent event's first
    copy: see events.message_digest); unique per site, and among events without a site."""
    if not digests:
        return []
    condition, params = _in("a.message_digest", digests)
    if site_id is None:
        condition += " AND a.site_id IS NULL"
    else:
        condition += " AND a.site_id = %s"
        params = [*params, site_id]
    sql = f"SELECT {_column_list(Activity, 'a')} FROM {table(Activity)} a WHERE {condition}"
    return _from_rows(Activity, execute(sql, params))


def activity_by_digest(digest: str, *, site_id: int | None) -> Activity | None:
    """The activity the site already recorded for this message digest, if any."""
    found = activities_by_digests([digest], site_id=site_id)
    return found[0] if found else None


@cache
def _site_by_prefix_sql(vendor: str) -> str:
    return f"SELECT {_column_list(Site, 's')} FROM {table(Site)} s WHERE s.key_prefix = %s"


def site_by_key_prefix(prefix: str) -> Site | None:
    rows = execute(_site_by_prefix_sql(connection.vendor), [prefix])
    return _from_rows(Site, rows)[0] if rows else None
