"""The person side of a chunk merge: journal rows, tombstones, bases, history, timeline.

Writes, for every group, exactly what `merge_people` writes (profiles/services/merging/
merge.py), in bulk: one MergeRecord per group (bulk_create), tombstones and bases with one
UPDATE each, a history row per changed person with the same user and reason, and the "merged"
activity on the base.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from dedup.services.bulk.copy import copy_insert, execute, history_from_table
from dedup.services.groups import Group
from profiles.models import Activity, ActivityKind, ActivitySource, MergeRecord, Person
from profiles.services.merging.fields import BASE_FIELDS as BASE_COLUMNS
from profiles.services.merging.fields import Decision, apply_decisions
from profiles.services.merging.journal import decisions_json


def create_records(
    *, groups: Sequence[Group], decisions: list[list[Decision]], snapshots: list[dict],
    moved: list[dict], run, now: datetime,
) -> list[MergeRecord]:
    records = [
        MergeRecord(
            base=group.base, merged_ids=[o.pk for o in group.others], reason="dedup",
            actor=run.actor, dedup_run=run, created_at=now, snapshot=snapshot, moved=moves,
            decisions=decisions_json(group_decisions),
        )
        for group, group_decisions, snapshot, moves in zip(
            groups, decisions, snapshots, moved, strict=True
        )
    ]
    if connection.vendor == "postgresql":
        copy_insert(records, with_ids=True)
        return records
    return MergeRecord.objects.bulk_create(records)


def write_tombstones(*, groups: Sequence[Group], records, run, now: datetime) -> None:
    """Tombstones first, as the engine does (the base may take over a unique user ID)."""
    dups, bases, changed = [], [], []
    for group, record in zip(groups, records, strict=True):
        for other in group.others:
            other.merged_into_id, other.merged_at = group.base.pk, now
            _audit(other, run, record)
            dups.append(other.pk)
            bases.append(group.base.pk)
            changed.append(other)
    if connection.vendor == "postgresql":
        execute(
            f"UPDATE {_table()} p SET merged_into_id = m.base, merged_at = %s "
            f"FROM unnest(%s::bigint[], %s::bigint[]) AS m(dup, base) WHERE p.id = m.dup",
            [now, dups, bases],
        )
    else:
        Person.objects.bulk_update(changed, ["merged_into", "merged_at"], batch_size=500)
    _write_history(changed, now)


def write_bases(*, groups: Sequence[Group], decisions, records, run, now: datetime) -> None:
    bases = []
    for group, group_decisions, record in zip(groups, decisions, records, strict=True):
        apply_decisions(group.base, group_decisions)
        _audit(group.base, run, record)
        bases.append(group.base)
    if connection.vendor == "postgresql":
        _update_bases_pg(bases)
    else:
        Person.objects.bulk_update(bases, list(BASE_COLUMNS), batch_size=200)
    _write_history(bases, now)


def _write_history(people: list[Person], now: datetime) -> None:
    """A history row per person with its merge's user and reason, as save() would write."""
    if connection.vendor == "postgresql":
        actor = getattr(people[0], "_history_user", None) if people else None
        history_from_table(
            Person, ids=[p.pk for p in people], reasons=[p._change_reason for p in people],
            date=now, actor_id=getattr(actor, "pk", None),
        )
    else:
        Person.history.bulk_history_create(people, update=True, default_date=now)


def _update_bases_pg(bases: list[Person]) -> None:
    """One UPDATE … FROM unnest(text[] per column): values travel as text, cast in SQL."""
    arrays = [[p.pk for p in bases]]
    for name in BASE_COLUMNS:
        arrays.append([_as_text(name, getattr(p, name)) for p in bases])
    columns = ", ".join(f"c{i}" for i in range(len(BASE_COLUMNS)))
    unnest = ", ".join(["%s::bigint[]", *(["%s::text[]"] * len(BASE_COLUMNS))])
    sets = ", ".join(
        f"{connection.ops.quote_name(name)} = m.c{i}::{_cast(name)}"
        for i, name in enumerate(BASE_COLUMNS)
    )
    execute(
        f"UPDATE {_table()} p SET {sets} FROM unnest({unnest}) AS m(id, {columns}) "
        f"WHERE p.id = m.id",
        arrays,
    )


def _cast(name: str) -> str:
    return Person._meta.get_field(name).cast_db_type(connection)


def _as_text(name: str, value) -> str | None:
    if value is None:
        return None
    if name == "attributes":
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def add_merged_activities(*, groups: Sequence[Group], records, run, now: datetime) -> None:
    actor_name = run.actor.get_username() if run.actor is not None else None
    activities = [
        Activity(
            person_id=group.base.pk, original_person_id=group.base.pk,
            kind=ActivityKind.MERGED, source=ActivitySource.SYSTEM, occurred_at=now,
            recorded_at=now,
            properties={
                "merge_record": record.pk, "merged_ids": record.merged_ids,
                "reason": "dedup", "actor": actor_name,
            },
        )
        for group, record in zip(groups, records, strict=True)
    ]
    if connection.vendor == "postgresql":
        copy_insert(activities)
    else:
        Activity.objects.bulk_create(activities, batch_size=2000)


def _audit(person: Person, run, record: MergeRecord) -> None:
    person._history_user = run.actor
    person._change_reason = f"merge #{record.pk} (dedup)"


def _table() -> str:
    return connection.ops.quote_name(Person._meta.db_table)
