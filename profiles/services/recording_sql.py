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

from profiles.models import Activity, Identity, IdentityKind, IdentityTrust, Person, Site
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
    # The user_id identity says who holds the ID (it leads to a person, like any identity);
    # the live person whose field holds it answers only when no identity does. Were the field
    # asked first, an identity staff moved elsewhere would make every event for that ID try
    # to create a person its unique identity refuses: a 409 forever.
    return (
        f"SELECT {_column_list(Person, 'p')} FROM {table(Person)} p WHERE p.id = COALESCE("
        f"(SELECT i.person_id FROM {table(Identity)} i WHERE i.kind = %s AND i.value = %s), "
        f"(SELECT q.id FROM {table(Person)} q WHERE q.user_id = %s "
        f"AND q.merged_into_id IS NULL LIMIT 1)){_lock_clause('p')}"
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
    """The person holding this user ID (its identity's, else the live one whose field it is),
    locked, maybe a tombstone; None if unknown."""
    return _one_person(
        _person_by_user_id_sql(connection.vendor), [IdentityKind.USER_ID, user_id, user_id]
    )


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


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column` among `values`: one array parameter on PostgreSQL, so the statement's text
    (and its prepared plan) is the same for any number of values."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def owners_of_keys(
    *, user_ids: Sequence[str], anonymous_ids: Sequence[str]
) -> dict[tuple[str, str], int]:
    """(kind, value) -> id of the person holding it (maybe a tombstone): a user ID's identity
    holder, else the live person whose field holds it (as lock_person_by_user_id), and each
    device ID's holder. One statement, not locked."""
    parts, params = [], []
    if user_ids:
        condition, values = _in("user_id", user_ids)
        parts.append(
            f"SELECT %s, user_id, id, 0 FROM {table(Person)} WHERE merged_into_id IS NULL "
            f"AND {condition}"
        )
        params += [IdentityKind.USER_ID, *values]
    for kind, values in ((IdentityKind.USER_ID, user_ids),
                         (IdentityKind.ANONYMOUS_ID, anonymous_ids)):
        if values:
            condition, values = _in("value", values)
            parts.append(
                f"SELECT %s, value, person_id, 1 FROM {table(Identity)} WHERE kind = %s "
                f"AND {condition}"
            )
            params += [kind, kind, *values]
    if not parts:
        return {}
    owners: dict[tuple[str, str], int] = {}
    # An identity (rank 1) wins over a field (rank 0) where both answer.
    for kind, value, person_id, _ in sorted(execute(" UNION ALL ".join(parts), params),
                                            key=lambda row: row[3]):
        owners[(kind, value)] = person_id
    return owners


def _verified_identity_of(alias: str) -> str:
    """SQL: the person `alias`.id holds a verified user ID or email (one index range each)."""
    return (
        f"EXISTS (SELECT 1 FROM {table(Identity)} v WHERE v.person_id = {alias} "
        f"AND v.kind IN ('{IdentityKind.USER_ID}', '{IdentityKind.EMAIL}') "
        f"AND v.trust = '{IdentityTrust.VERIFIED}')"
    )


def protected_people(ids: Sequence[int]) -> set[int]:
    """Which of these people hold a verified user ID or email (trust.py: protected)."""
    if not ids:
        return set()
    condition, params = _in("p.id", sorted(set(ids)))
    sql = (
        f"SELECT p.id FROM {table(Person)} p WHERE {condition} "
        f"AND {_verified_identity_of('p.id')}"
    )
    return {person_id for (person_id,) in execute(sql, params)}


def protected_user_ids(user_ids: Sequence[str]) -> set[str]:
    """Which of these user IDs lead to a protected person (their identity's holder, or the
    live person whose field holds it)."""
    return _held_by_protected(IdentityKind.USER_ID, "user_id", user_ids, excluding=None)


def emails_held_by_protected(emails: Sequence[str], *, excluding: int | None) -> set[str]:
    """Which of these normalized emails a protected person other than `excluding` holds, as
    an email identity or as the primary email of a live person."""
    return _held_by_protected(IdentityKind.EMAIL, "email_normalized", emails, excluding=excluding)


def _held_by_protected(
    kind: str, column: str, values: Sequence[str], *, excluding: int | None
) -> set[str]:
    """Which of these values a protected person (other than `excluding`) holds: as an
    identity of `kind`, or in its Person `column` (live people only)."""
    if not values:
        return set()
    other = -1 if excluding is None else excluding
    by_identity, params = _in("e.value", values)
    by_field, field_params = _in(f"p.{column}", values)
    sql = (
        f"SELECT e.value FROM {table(Identity)} e WHERE e.kind = %s AND {by_identity} "
        f"AND e.person_id <> %s AND {_verified_identity_of('e.person_id')} "
        f"UNION SELECT p.{column} FROM {table(Person)} p WHERE {by_field} "
        f"AND p.merged_into_id IS NULL AND p.id <> %s AND {_verified_identity_of('p.id')}"
    )
    rows = execute(sql, [kind, *params, other, *field_params, other])
    return {value for (value,) in rows}


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
