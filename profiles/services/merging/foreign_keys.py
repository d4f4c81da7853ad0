"""PostgreSQL: the foreign-key checks of a large set-based merge, once per call, not per row.

Every foreign key is DEFERRABLE INITIALLY DEFERRED (Django's default), so each row a merge
moves or inserts queues one check fired at COMMIT (`SELECT 1 FROM profiles_person WHERE id = $1
FOR KEY SHARE`): tens of thousands for a dedup chunk, ~15% of its time, confirming what the
merge already guarantees — every person column it writes holds a base of the call, and every
base is locked `FOR UPDATE` (it cannot be deleted before the commit) and stays live; the other
references it writes are the actor and the dedup run.

So a call of many groups (`merge.LARGE`), when the database user may do it, runs its writes
with `SET LOCAL session_replication_role = replica` (the mode of PostgreSQL's logical
replication and `pg_restore --disable-triggers`, which skips those checks), after locking the
actor and the run `FOR KEY SHARE` (what the skipped checks would lock); before switching back
it checks in one statement that every base is a live person, and raises IntegrityError if not
(the savepoint rolls back, and the groups are merged one by one with normal checks). Unique
constraints are indexes, not triggers: enforced as always. Not taken (normal checks) without
the privilege (superuser, or `GRANT SET ON PARAMETER session_replication_role`), or when a
table the merge writes has a trigger of its own (replica mode would skip it too).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection

from profiles.models import Activity, MergeRecord, Person
from profiles.services.merging.relations import person_relations
from profiles.services.schema import history_model, table
from profiles.services.sql import prepared_cursor


def _written_tables() -> list[str]:
    models = {Person, history_model(Person), MergeRecord, Activity}
    models.update(relation.model for relation in person_relations())
    return sorted(model._meta.db_table for model in models)


def skip_row_checks(*, actor: Any, dedup_run: Any) -> bool:
    """Switch this (sub)transaction to replica mode if allowed; True if the checks are off.
    Call inside the merge's savepoint (its rollback restores the mode), people locked."""
    with prepared_cursor() as cursor:
        send_skip_row_checks(cursor, actor=actor, dedup_run=dedup_run)
        return row_checks_skipped(cursor)


def send_skip_row_checks(cursor: Any, *, actor: Any, dedup_run: Any) -> None:
    """`skip_row_checks` as statements queued on `cursor` (in a pipeline, before the rows
    move: the mode must be on when they are written); `row_checks_skipped(cursor)` answers."""
    privilege = (
        "has_parameter_privilege('session_replication_role', 'SET')"
        if connection.pg_version >= 150000
        else "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
    )
    for referenced in (actor, dedup_run):  # what the skipped checks would have locked
        if getattr(referenced, "pk", None) is not None:
            cursor.execute(f"SELECT 1 FROM {table(type(referenced))} WHERE id = %s FOR KEY SHARE",
                           [referenced.pk])
    # CASE evaluates set_config (SET LOCAL) only when allowed.
    cursor.execute(
        f"SELECT CASE WHEN {privilege} AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE NOT"
        f" tgisinternal AND tgrelid = ANY(%s::regclass[])) THEN"
        f" set_config('session_replication_role', 'replica', true) = 'replica' ELSE false END",
        [_written_tables()],
    )


def row_checks_skipped(cursor: Any) -> bool:
    return bool(cursor.fetchone()[0])


def check_bases_and_restore(base_ids: Iterable[int]) -> None:
    """The skipped checks in one statement (every base a live person), then normal mode."""
    wanted = sorted(set(base_ids))
    with prepared_cursor() as cursor:  # also inside the writes' pipeline: fetch waits for it
        cursor.execute(f"SELECT count(*) FROM {table(Person)} WHERE id = ANY(%s::bigint[])"
                       f" AND merged_into_id IS NULL", [wanted])
        found = cursor.fetchone()[0]
        cursor.execute("SET LOCAL session_replication_role = origin")
    if found != len(wanted):
        raise IntegrityError(f"merge: {len(wanted) - found} base(s) not live persons")

