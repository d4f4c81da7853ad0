"""Hand-written writes for the website's hot path: activities, profile updates, history rows,
and the person a device's first event creates.

What the ORM would write, written with fewer statements: on PostgreSQL a request's rows travel
as JSON documents unpacked by `jsonb_to_recordset` (one parameter instead of one per value)
and the profile UPDATE and history INSERTs ride in the activity INSERT's statement as
data-modifying WITH queries, so recording an event is one round trip. simple-history is not
bypassed in what it records: the history rows are the ones its post_save would write (every
tracked field, the change reason, the request's user), built by the one history writer
(`history.history_statements`) because simple-history's own path builds a manager class and
runs an ORM insert per saved object, which costs more than the event.

On SQLite (the embedded demo setup) the same statements run one after the other, with values
bound through each field's `get_db_prep_save`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from profiles.models import Activity, Identity, Person, PersonStatus
from profiles.naming import friendly_name, new_avatar_seed
from profiles.services.history import first_contact_reason, history_statements, request_actor
from profiles.services.inserts import Sql, column_sql, insert_sql, json_document, stored_fields
from profiles.services.schema import table
from profiles.services.sql import execute


def update_people_sql(people: Sequence[tuple[Person, Sequence[str]]]) -> list[Sql]:
    """UPDATE statements writing the in-memory values of the named fields of locked people.

    On PostgreSQL several people share one UPDATE … FROM a JSON recordset (Django's
    bulk_update builds a CASE per row and field, which costs more than the rest of a batch);
    every field named for anyone is written for everyone, with the value the person already
    has when unchanged.
    """
    quote = connection.ops.quote_name
    names = sorted({name for _, fields in people for name in fields})
    fields = [Person._meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    if len(people) == 1 or connection.vendor != "postgresql":
        return [
            (
                f"UPDATE {table(Person)} SET {assignments} WHERE id = %s",
                [
                    *(f.get_db_prep_save(getattr(person, f.attname), connection) for f in fields),
                    person.pk,
                ],
            )
            for person, _ in people
        ]
    document = json_document([
        {"id": person.pk, **{f.column: getattr(person, f.attname) for f in fields}}
        for person, _ in people
    ])
    _, types = column_sql(tuple(fields), connection.vendor)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    sql = (
        f"UPDATE {table(Person)} AS p SET {assignments} FROM "
        f"jsonb_to_recordset(%s::jsonb) AS v(id bigint, {types}) WHERE p.id = v.id"
    )
    return [(sql, [document])]


def run_with(statements: Sequence[Sql], final: Sql | None = None) -> list[tuple[Any, ...]]:
    """Run the statements and then `final`, returning `final`'s rows.

    On PostgreSQL they are one statement: the others become data-modifying WITH queries of
    `final`. They touch different rows (or, for history, only insert), so their relative
    order does not matter.
    """
    if final is None:
        if not statements:
            return []
        *statements, final = statements
    if connection.vendor == "postgresql" and statements:
        ctes = ", ".join(f"w{index} AS ({sql})" for index, (sql, _) in enumerate(statements))
        params = [param for _, statement_params in statements for param in statement_params]
        return execute(f"WITH {ctes} {final[0]}", [*params, *final[1]])
    for sql, params in statements:
        execute(sql, params)
    return execute(*final)


def insert_activities(
    rows: list[Activity],
    *,
    update_people: Sequence[tuple[Person, Sequence[str]]] = (),
    history: Sequence[tuple[Person, str]] = (),
) -> None:
    """INSERT the activities, UPDATE the people's named fields and write their history rows
    (`history`: (person, reason) pairs, changed by the request's user): one statement on
    PostgreSQL. Sets each row's pk as save() would."""
    before = update_people_sql(update_people) if update_people else []
    if history:
        before += history_statements(
            instances=[person for person, _ in history], history_type="~",
            actor=request_actor(), reason=[reason for _, reason in history],
        )
    if not rows:
        run_with(before)
        return
    fields = stored_fields(Activity)
    values = [[getattr(row, f.attname) for f in fields] for row in rows]
    ids = run_with(before, insert_sql(Activity, fields, values, returning="id"))
    for row, (row_id,) in zip(rows, ids, strict=True):
        row.pk = row_id
        row._state.adding = False
        row._state.db = connection.alias


def create_person_with_identities(
    *, identities: Sequence[tuple[str, str, str]], user_id: str | None = None
) -> Person:
    """A new person holding the given (kind, value, trust) identities, with their history rows.

    An anonymous visitor gets a friendly random name and its own avatar, as create_person
    gives. When another request took an exclusive identity first, the unique constraint fails
    and the caller's atomic_with_retry runs the unit again, which then finds the winner.
    On PostgreSQL the ids are taken from the sequences first, so the person, its identities
    and their history rows go in one statement.
    """
    now = timezone.now()
    person = Person(
        user_id=user_id,
        status=PersonStatus.USER if user_id else PersonStatus.VISITOR,
        avatar_seed=new_avatar_seed(),
        created_at=now,
        updated_at=now,
    )
    if person.is_anonymous:
        person.name = friendly_name()
    if connection.vendor == "postgresql":
        person.pk, identity_ids = _next_ids(len(identities))
    else:
        fields = stored_fields(Person)
        [(person.pk,)] = run_with(
            [], insert_sql(Person, fields, [[getattr(person, f.attname) for f in fields]],
                           returning="id"),
        )
    made = [
        Identity(person_id=person.pk, original_person_id=person.pk, kind=kind, value=value,
                 trust=trust, created_at=now)
        for kind, value, trust in identities
    ]
    if connection.vendor == "postgresql":
        for identity, identity_id in zip(made, identity_ids, strict=True):
            identity.pk = identity_id
        writes = [_insert_instances([person]), _insert_instances(made)]
    else:
        fields = stored_fields(Identity)
        inserted = insert_sql(
            Identity, fields, [[getattr(i, f.attname) for f in fields] for i in made],
            returning="id",
        )
        for identity, (identity_id,) in zip(made, run_with([], inserted), strict=True):
            identity.pk = identity_id
        writes = []
    history = history_statements(
        instances=[person, *made], history_type="+", actor=request_actor(), at=now,
        reason=first_contact_reason((kind, value) for kind, value, _ in identities),
    )
    run_with([*writes, *history])
    for instance in (person, *made):
        instance._state.adding = False
        instance._state.db = connection.alias
    return person


def _insert_instances(instances: Sequence[Model]) -> Sql:
    fields = stored_fields(type(instances[0]), with_pk=True)
    return insert_sql(
        type(instances[0]), fields, [[getattr(i, f.attname) for f in fields] for i in instances]
    )


@cache
def _sequences_sql(vendor: str) -> str:
    person, identity = Person._meta.db_table, Identity._meta.db_table
    return (
        f"SELECT nextval(pg_get_serial_sequence('{person}', 'id')), "
        f"ARRAY(SELECT nextval(pg_get_serial_sequence('{identity}', 'id')) "
        f"FROM generate_series(1, %s))"
    )


def _next_ids(identities: int) -> tuple[int, list[int]]:
    """A new person id and `identities` identity ids, from the tables' own sequences."""
    [(person_id, identity_ids)] = execute(_sequences_sql(connection.vendor), [identities])
    return person_id, list(identity_ids)
