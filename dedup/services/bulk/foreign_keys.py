"""Foreign keys of a chunk merge: a few set-based checks instead of one check per moved row.

Every foreign key here is DEFERRABLE INITIALLY DEFERRED (Django's default), so each row a chunk
moves or inserts queues one RI trigger event, fired at COMMIT as its own
`SELECT 1 FROM <referenced> WHERE id = $1 FOR KEY SHARE` — tens of thousands per chunk, about
15% of a chunk's time, to confirm what the chunk already guarantees: every person column it
writes points at a base of the chunk, and those rows are locked `FOR UPDATE` (so they cannot be
deleted before the chunk commits) and stay live; the other references it writes are the run
and the actor.

So, when the database user may do it, the chunk runs with `SET LOCAL session_replication_role =
replica` (the mode PostgreSQL's own logical replication and `pg_restore --disable-triggers` use
to skip RI triggers), after locking the run and the actor `FOR KEY SHARE` (what the skipped
checks would have done), and before the mode is switched back it checks, in one statement, that
every base is still a live person row. If anything is off it raises IntegrityError and the
chunk's savepoint rolls back to the engine's per-group path, where every check is the normal one.

The shortcut is not taken (the normal deferred checks run) when the user lacks the privilege
(`GRANT SET ON PARAMETER session_replication_role`, or superuser), or when any table the chunk
writes has a trigger of its own: replica mode would skip it too.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection

from dedup.models import DedupRun
from dedup.services.bulk.copy import execute
from profiles.models import Activity, MergeRecord, Person
from profiles.services.merging.relations import person_relations


def _written_tables() -> list[str]:
    models = {Person, Person.history.model, MergeRecord, Activity}
    models.update(relation.model for relation in person_relations())
    return sorted(model._meta.db_table for model in models)


def skip_row_checks(*, run_id: int, actor_id: int | None) -> bool:
    """Switch this transaction to replica mode if allowed; True if the row checks are off.

    Call inside the chunk's savepoint (a rollback then restores the mode), with the group
    members already locked.
    """
    if connection.vendor != "postgresql":
        return False
    privilege = (
        "has_parameter_privilege('session_replication_role', 'SET')"
        if connection.pg_version >= 150000
        else "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
    )
    allowed = execute(
        f"SELECT {privilege} AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE NOT tgisinternal "
        f"AND tgrelid = ANY(%s::regclass[]))",
        [_written_tables()],
    )[0][0]
    if not allowed:
        return False
    # What the skipped checks of the journal and history rows would have locked.
    for model, pk in ((DedupRun, run_id), (get_user_model(), actor_id)):
        if pk is not None:
            table = connection.ops.quote_name(model._meta.db_table)
            execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [pk])
    execute("SET LOCAL session_replication_role = replica", [])
    return True


def check_bases_and_restore(base_ids: Iterable[int]) -> None:
    """The skipped checks in one statement: every base a live person; then normal mode again."""
    wanted = sorted(set(base_ids))
    found = execute(
        f"SELECT count(*) FROM {connection.ops.quote_name(Person._meta.db_table)} "
        f"WHERE id = ANY(%s::bigint[]) AND merged_into_id IS NULL",
        [wanted],
    )[0][0]
    execute("SET LOCAL session_replication_role = origin", [])
    if found != len(wanted):
        raise IntegrityError(f"dedup chunk: {len(wanted) - found} base(s) not live persons")
