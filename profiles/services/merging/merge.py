"""merge_people: one transaction that folds duplicates into a base (docs/rules.md, Merging)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from profiles.models import (
    Activity,
    ActivityKind,
    ActivitySource,
    MergeReason,
    MergeRecord,
    Person,
)
from profiles.services.merging import people_sql, pg, writes_sql
from profiles.services.merging.errors import MergeRefused
from profiles.services.merging.fields import apply_decisions, clean_overrides, plan_fields
from profiles.services.merging.journal import decisions_json, write_merged_people
from profiles.services.merging.locking import lock_people
from profiles.services.merging.moves import move_rows, send_move
from profiles.services.merging.rules import rank_key
from profiles.services.merging.state import snapshot_person


def person_id(person: Person | int) -> int:
    return int(getattr(person, "pk", person))


def participant_ids(base: Person | int, others: Iterable[Person | int]) -> tuple[int, list[int]]:
    """Check the request itself (before touching the database): ids, without repeats."""
    if base is None:
        raise MergeRefused("Choose the person to merge into.", code="empty")
    base_id = person_id(base)
    other_ids = list(dict.fromkeys(person_id(other) for other in others or ()))
    if not other_ids:
        raise MergeRefused("Choose at least one other person to merge.", code="empty")
    if base_id in other_ids:
        raise MergeRefused(
            "Person #%(id)s cannot be merged into itself.", code="self", params={"id": base_id}
        )
    return base_id, other_ids


def _live_end(person: Person) -> Person:
    from profiles.services.people import resolve_live

    return resolve_live(person)


def check_mergeable(base: Person, others: list[Person]) -> None:
    """The rules that refuse a merge, checked on freshly locked rows."""
    for person in [base, *others]:
        if person.merged_into_id is None:
            continue
        live = _live_end(person)
        if person is not base and live.pk == base.pk:
            raise MergeRefused(
                "Person #%(id)s is already merged into #%(base)s.",
                code="already_merged", params={"id": person.pk, "base": base.pk},
            )
        raise MergeRefused(
            "Person #%(id)s was merged into #%(live)s: merge the live profile instead.",
            code="tombstone", params={"id": person.pk, "live": live.pk},
        )
    user_ids = sorted({person.user_id for person in [base, *others] if person.user_id})
    if len(user_ids) > 1:
        raise MergeRefused(
            "People with different user IDs are never merged (%(ids)s).",
            code="different_user_ids", params={"ids": ", ".join(user_ids)},
        )


def lock_participants(
    base_id: int, other_ids: list[int], people: dict[int, Person] | None = None
) -> tuple[Person, list[Person]]:
    """Lock every participant (unless `people` holds them locked already) and check they exist;
    the others come back in rule order."""
    if people is None:
        people = lock_people([base_id, *other_ids])
    missing = sorted({base_id, *other_ids} - people.keys())
    if missing:
        raise MergeRefused(
            "No person #%(ids)s.", code="missing",
            params={"ids": ", #".join(str(pk) for pk in missing)},
        )
    others = sorted((people[pk] for pk in other_ids), key=rank_key)
    return people[base_id], others


def merge_people(
    *,
    base: Person | int,
    others: Iterable[Person | int],
    actor: Any = None,
    reason: str = MergeReason.MANUAL,
    overrides: Mapping[str, Person | int] | None = None,
    dedup_run: Any = None,
) -> MergeRecord:
    """Merge `others` into `base` and return the journal entry (see docs/merging.md)."""
    if reason not in MergeReason.values:
        raise MergeRefused("Unknown merge reason %(reason)r.", code="invalid_reason",
                           params={"reason": reason})
    base_id, other_ids = participant_ids(base, others)
    if actor is not None and getattr(actor, "pk", None) is None:
        actor = None  # an AnonymousUser: recorded as the system, like identify and dedup
    args = (base_id, other_ids, actor, str(reason), overrides, dedup_run)
    try:
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            return _merge_in_savepoint(*args)
        with transaction.atomic():
            return _merge(*args)
    except IntegrityError as exc:
        # Only a concurrent writer that skipped the person lock can get here; nothing was
        # written (the transaction rolled back), so asking to retry is honest.
        raise MergeRefused(
            "The people changed while merging; nothing was merged. Try again.",
            code="conflict",
        ) from exc


def _merge_in_savepoint(*args: Any) -> MergeRecord:
    """Inside the caller's transaction (identify, dedup): a savepoint, as `atomic()` would
    make, but sent with the merge's first pipeline and released with its writes."""
    savepoint = pg.PipelinedSavepoint()
    try:
        return _merge(*args, savepoint=savepoint)
    except BaseException:
        savepoint.roll_back()
        raise


def _lock_and_move(
    base_id: int, other_ids: list[int], savepoint: pg.PipelinedSavepoint | None = None
) -> tuple[Person, list[Person], dict]:
    """Lock the participants, re-check them and move the rows.

    On PostgreSQL the lock is one prepared statement sent with the BEGIN, and with a single
    other person (identify, most staff merges) the move goes in the same round trip: it does
    not depend on what the lock reads (with several others, their rule order decides which
    clashing row moves), runs once the locks are granted, and if the checks then refuse the
    merge, the transaction (or the savepoint) rolls it back with everything else.
    """
    if connection.vendor != "postgresql":  # (no savepoint here: only PostgreSQL has one)
        base, others = lock_participants(base_id, other_ids)
        check_mergeable(base, others)
        return base, others, move_rows(base_id=base.pk, other_ids=[o.pk for o in others])
    with pg.pipeline(), pg.prepared_cursor() as locking, pg.prepared_cursor() as moving:
        if savepoint is not None:
            savepoint.open()
        people_sql.send_lock(locking, [base_id, *other_ids])
        read_moves = (
            send_move(moving, base_id=base_id, other_ids=other_ids)
            if len(other_ids) == 1 else None
        )
        base, others = lock_participants(base_id, other_ids, people_sql.locked_people(locking))
        check_mergeable(base, others)
        if read_moves is not None:
            return base, others, read_moves()
    return base, others, move_rows(base_id=base.pk, other_ids=[o.pk for o in others])


def _merge(
    base_id, other_ids, actor, reason, overrides, dedup_run, savepoint=None
) -> MergeRecord:
    base, others, moved = _lock_and_move(base_id, other_ids, savepoint)
    people = [base, *others]
    chosen = clean_overrides(overrides, people)
    now = timezone.now()
    decisions = plan_fields(base=base, others=others, overrides=chosen, now=now)
    record = MergeRecord(
        base=base,
        merged_ids=[other.pk for other in others],
        reason=reason,
        actor=actor,
        dedup_run=dedup_run,
        created_at=now,
        snapshot={str(person.pk): snapshot_person(person) for person in people},
        decisions=decisions_json(decisions),
    )
    record.moved = moved
    for other in others:
        other.merged_into = base
        other.merged_at = now
    apply_decisions(base, decisions)
    activity = Activity(
        person=base,
        original_person=base,
        kind=ActivityKind.MERGED,
        source=ActivitySource.SYSTEM,
        occurred_at=now,
        recorded_at=now,
        properties={
            "merged_ids": record.merged_ids,
            "reason": reason,
            "actor": getattr(actor, "get_username", lambda: None)(),
        },
    )
    writes = {"record": record, "base": base, "tombstones": others, "activity": activity,
              "actor": actor, "reason": reason, "now": now}
    if connection.vendor == "postgresql":
        writes_sql.write_merge(**writes, savepoint=savepoint)
    else:
        _write_orm(**writes)
    return record


def _write_orm(*, record, base, tombstones, activity, actor, reason, now, savepoint=None) -> None:
    """The portable path of writes_sql.write_merge: the same rows through the ORM."""
    record.save(force_insert=True)
    write_merged_people(
        base=base, tombstones=tombstones, actor=actor, reason=f"merge #{record.pk} ({reason})",
        now=now,
    )
    activity.properties = {"merge_record": record.pk, **activity.properties}
    activity.save(force_insert=True)
    if savepoint is not None:  # PostgreSQL only (a test compares this path with the fast one)
        savepoint.release()
