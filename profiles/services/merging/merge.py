"""The merge engine's face: `merge_many` folds 1..N groups of duplicates into their bases in
one transaction; `merge_people` is its one-group case (docs/merging.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from profiles.models import (
    Activity,
    ActivityKind,
    ActivitySource,
    MergeReason,
    MergeRecord,
    Person,
)
from profiles.services import sql as pg
from profiles.services.collector import collector_paused
from profiles.services.history import merge_reason
from profiles.services.merging import foreign_keys, hooks, moves_sql, people_sql, writes_sql
from profiles.services.merging.errors import MergeRefused
from profiles.services.merging.fields import apply_decisions
from profiles.services.merging.journal import decisions_json, write_merged_people
from profiles.services.merging.locking import lock_people
from profiles.services.merging.moves import move_rows_orm
from profiles.services.merging.planning import (
    Group,
    Plan,
    Request,
    decide_fields,
    participant_ids,
    plan_all,
)
from profiles.services.merging.relations import person_relations
from profiles.services.merging.state import snapshot_person

logger = logging.getLogger(__name__)

Outcome = MergeRecord | MergeRefused
RETRIES = 3  # deadlocks / serialization failures retried when we own the transaction
RETRYABLE = ("40P01", "40001")  # deadlock_detected, serialization_failure
LARGE = 100  # groups from which the row-by-row foreign-key checks are folded (foreign_keys.py)


class _RefusedAfterMoving(Exception):
    """Groups refused once their rows had already moved: roll back and redo without them."""

    def __init__(self, refused: dict[int, MergeRefused]) -> None:
        super().__init__(refused)
        self.refused = refused


def merge_people(
    *,
    base: Person | int,
    others: Iterable[Person | int],
    actor: Any = None,
    reason: str = MergeReason.MANUAL,
    overrides: Mapping[str, Person | int] | None = None,
    dedup_run: Any = None,
) -> MergeRecord:
    """Merge `others` into `base` and return the journal entry; raises MergeRefused."""
    (outcome,) = merge_many([(base, others, overrides)], actor=actor, reason=reason,
                            dedup_run=dedup_run)
    if isinstance(outcome, MergeRefused):
        raise outcome
    return outcome


def merge_many(
    groups: Sequence[Group], *, actor: Any = None, reason: str = MergeReason.MANUAL,
    dedup_run: Any = None, locked: bool = False,
) -> list[Outcome]:
    """Merge each group `(base, others[, overrides])`; one outcome per group, in order: its
    `MergeRecord`, or the `MergeRefused` saying why it was not merged (nothing written for it).

    One transaction (a savepoint inside the caller's), set-based on PostgreSQL. If the database
    refuses the set (a unique clash with a row written without the person lock), the groups
    are merged one by one, so one bad group never fails the others.

    `locked=True`: every participant is a `Person` the caller read `FOR UPDATE`, in id order,
    in this transaction (the dedup's chunk read): the engine plans from those rows instead of
    locking and reading them again, and leaves the caller's instances unchanged.
    """
    if reason not in MergeReason.values:
        raise MergeRefused("Unknown merge reason %(reason)r.", code="invalid_reason",
                           params={"reason": reason})
    if actor is not None and getattr(actor, "pk", None) is None:
        actor = None  # an AnonymousUser: recorded as the system, like identify and dedup
    outcomes: list[Outcome | None] = [None] * len(groups)
    requests, seen = [], set()
    given = _locked_rows(groups) if locked else None
    for index, (base, others, *overrides) in enumerate(groups):
        try:
            base_id, other_ids = participant_ids(base, others)
            if seen & {base_id, *other_ids}:
                raise MergeRefused("A person is in two groups of one merge.", code="conflict")
        except MergeRefused as refused:
            outcomes[index] = refused
            continue
        seen |= {base_id, *other_ids}
        requests.append(Request(index, base_id, other_ids, (overrides or [None])[0]))
    with collector_paused():  # everything it allocates lives until the end (collector.py)
        for index, outcome in _merge_or_split(requests, actor, str(reason), dedup_run,
                                              given).items():
            outcomes[index] = outcome
    return outcomes


def _locked_rows(groups: Sequence[Group]) -> dict[int, Person]:
    if not connection.in_atomic_block:
        raise TypeError("merge_many(locked=True) runs in the transaction that locked the rows")
    rows = {}
    for base, others, *_ in groups:
        for person in (base, *(others or ())):
            if not isinstance(person, Person):
                raise TypeError("merge_many(locked=True) takes Person rows, not ids")
            rows[person.pk] = person
    return rows


def _merge_or_split(requests: list[Request], *context: Any) -> dict[int, Outcome]:
    if not requests:
        return {}
    try:
        return with_retry(lambda: _in_transaction(requests, *context))
    except (IntegrityError, DataError) as exc:
        if len(requests) > 1:
            logger.warning("merge of %s groups refused by the database (%s): merging them one "
                           "by one", len(requests), exc)
            return {k: v for r in requests for k, v in _merge_or_split([r], *context).items()}
        # A unique clash: only a concurrent writer that skipped the person lock can cause it;
        # nothing was written (rolled back), so asking to retry is honest.
        refused = MergeRefused("The people changed while merging; nothing was merged. "
                               "Try again.", code="conflict") if isinstance(exc, IntegrityError) \
            else MergeRefused("The database refused the merged values (%(error)s); nothing was "
                              "merged.", code="invalid_data", params={"error": exc})
        refused.__cause__ = exc
        return {requests[0].index: refused}


def with_retry(work, refusal: type[MergeRefused] = MergeRefused):  # noqa: ANN001, ANN202
    """Deadlocks and serialization failures are retried (bounded) when the merge owns its
    transaction (the shell, the admin); inside a caller's, the caller retries its unit. When
    every attempt met one, the caller gets a refusal in words, not the database's error."""
    for attempt in range(RETRIES):
        try:
            return work()
        except OperationalError as exc:
            code = getattr(exc.__cause__, "sqlstate", None)
            if connection.in_atomic_block or code not in RETRYABLE:
                raise
            if attempt == RETRIES - 1:
                raise refusal(
                    "The database was busy with other changes to these people (%(attempts)s "
                    "attempts); nothing was changed. Try again.", code="busy",
                    params={"attempts": RETRIES},
                ) from exc
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")


def _in_transaction(requests: list[Request], *context: Any) -> dict[int, Outcome]:
    refused: dict[int, Outcome] = {}
    while True:
        try:
            return {**refused, **_run_once(requests, *context)}
        except _RefusedAfterMoving as redo:  # rolled back: the others go again
            refused.update(redo.refused)
            requests = [r for r in requests if r.index not in redo.refused]


def _run_once(requests: list[Request], *context: Any) -> dict[int, Outcome]:
    engine = _merge_sql if connection.vendor == "postgresql" else _merge_orm
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        # A savepoint, as atomic() would make, but sent with the first pipeline and released
        # with the writes (no round trip of its own).
        savepoint = pg.PipelinedSavepoint()
        try:
            outcomes = engine(requests, *context, savepoint=savepoint)
        except BaseException:
            savepoint.roll_back()
            raise
        _after_merge(outcomes)
        return outcomes
    with transaction.atomic():
        outcomes = engine(requests, *context)
        _after_merge(outcomes)
        return outcomes


def _after_merge(outcomes: dict[int, Outcome]) -> None:
    """The registered hooks (segments), in the merge's transaction."""
    hooks.after_merge([o for o in outcomes.values() if isinstance(o, MergeRecord)])


def _merge_sql(requests, actor, reason, dedup_run, given, savepoint=None) -> dict[int, Outcome]:  # noqa: ANN001
    """PostgreSQL: round trip 1, the lock (and, when each group has one other, the move: it
    does not depend on the lock's answer); round trip 2, the writes; then COMMIT.

    With rows `given` (locked by the caller) there is no lock to wait for: the groups are
    checked from copies of them first, their move is sent at once, and Python decides every
    field while the server moves the rows (a dedup chunk: both take about as long)."""
    now, relations = timezone.now(), person_relations()
    large = len(requests) >= LARGE
    early = given is not None and moves_sql.applicable(relations)
    speculative = not early and moves_sql.applicable(relations) and not large and all(
        len(r.other_ids) == 1 for r in requests)
    checks_off, moved, params = False, None, None
    with (pg.pipeline(), pg.prepared_cursor() as locking, pg.prepared_cursor() as moving,
          pg.prepared_cursor() as reserving, pg.prepared_cursor() as switching):
        if savepoint is not None:
            savepoint.open()
        if early:
            plans, refused = plan_all(requests, _copies(given, requests), now, decide=False)
            pairs = [(p.base.pk, [o.pk for o in p.others]) for p in plans]
            switch = bool(plans) and large
            if switch:  # before the move: the rows must be written in replica mode
                foreign_keys.send_skip_row_checks(switching, actor=actor, dedup_run=dedup_run)
        else:
            pairs = [(r.base_id, r.other_ids) for r in requests]
            if given is None:
                people_sql.send_lock(locking, [pk for r in requests
                                               for pk in (r.base_id, *r.other_ids)])
        sent = speculative or (early and bool(plans))
        if sent:
            moves_sql.send_move(moving, pairs, relations)
        writes_sql.send_reserve_ids(reserving, len(requests))
        if early:
            for plan in plans:  # while the server moves the rows
                decide_fields(plan, now)
                plan.record = _record(plan, None, actor, reason, dedup_run, now)
            params = writes_sql.people_params([p.base for p in plans], [p.others for p in plans])
        else:
            people = people_sql.locked_people(locking) if given is None \
                else _copies(given, requests)
            plans, refused = plan_all(requests, people, now)
            if refused and speculative:
                raise _RefusedAfterMoving(refused)
        if sent:
            moved = moves_sql.journals(moving.fetchall(), relations, pairs)
        record_ids = [row[0] for row in reserving.fetchall()]
        if early and switch:
            checks_off = foreign_keys.row_checks_skipped(switching)
    if not early:
        checks_off = bool(plans) and large and foreign_keys.skip_row_checks(
            actor=actor, dedup_run=dedup_run)
    if moved is None:
        moved = _move(plans, relations)
    for plan, moves, record_id in zip(plans, moved, record_ids, strict=False):
        if plan.record is None:
            plan.record = _record(plan, moves, actor, reason, dedup_run, now)
        plan.record.moved, plan.record.pk = moves, record_id
    if not plans:
        return refused
    writes_sql.write_merges(
        records=[p.record for p in plans], bases=[p.base for p in plans],
        tombstones=[p.others for p in plans],
        activities=(_merged_activity(p.record, p.base, now) for p in plans),  # built while
        history=((person.pk, _reason(p.record))                    # the people are written
                 for p in plans for person in (*p.others, p.base)),
        actor=actor, now=now, savepoint=savepoint,
        then=(lambda: foreign_keys.check_bases_and_restore(p.base.pk for p in plans))
        if checks_off else None, params=params,
    )
    return {**refused, **{p.request.index: p.record for p in plans}}


def _move(plans: list[Plan], relations) -> list[dict]:  # noqa: ANN001
    pairs = [(p.base.pk, [o.pk for o in p.others]) for p in plans]
    if not plans or not moves_sql.applicable(relations):
        return [move_rows_orm(base_id=base, other_ids=others) for base, others in pairs]
    return moves_sql.move_groups(pairs, relations)


def _merge_orm(requests, actor, reason, dedup_run, given, savepoint=None) -> dict[int, Outcome]:  # noqa: ANN001
    """The portable (SQLite) and reference path: the same rows through the ORM."""
    if savepoint is not None:  # PostgreSQL only (a test compares this path with the fast one)
        savepoint.open()
    now = timezone.now()
    people = _copies(given, requests) if given is not None else lock_people(
        [pk for r in requests for pk in (r.base_id, *r.other_ids)])
    plans, refused = plan_all(requests, people, now)
    for plan in plans:
        moves = move_rows_orm(base_id=plan.base.pk, other_ids=[o.pk for o in plan.others])
        plan.record = _record(plan, moves, actor, reason, dedup_run, now)
        plan.record.save(force_insert=True)
        write_merged_people(base=plan.base, tombstones=plan.others, actor=actor,
                            reason=_reason(plan.record), now=now)
        _merged_activity(plan.record, plan.base, now).save(force_insert=True)
    if savepoint is not None:
        savepoint.release()
    return {**refused, **{p.request.index: p.record for p in plans}}


def _copies(given: Mapping[int, Person], requests: list[Request]) -> dict[int, Person]:
    """The caller's locked rows as fresh instances: the merge changes its people in memory
    (the base's values, the tombstones' pointer), and an attempt rolled back must not leave
    that in the caller's rows (the groups are then planned again from them)."""
    copies = {}
    for pk in (pk for r in requests for pk in (r.base_id, *r.other_ids)):
        person = given[pk]
        copy = Person.__new__(Person)
        copy.__dict__.update(person.__dict__)
        copy._state = ModelState()
        copy._state.adding, copy._state.db = False, person._state.db
        copies[pk] = copy
    return copies


def _record(plan: Plan, moved: dict, actor, reason, dedup_run, now) -> MergeRecord:  # noqa: ANN001
    """The journal entry; the people (in memory) as the writers will store them."""
    snapshot = {str(p.pk): snapshot_person(p) for p in (plan.base, *plan.others)}
    record = MergeRecord(
        base=plan.base, merged_ids=[other.pk for other in plan.others], reason=reason,
        actor=actor, dedup_run=dedup_run, created_at=now, moved=moved, snapshot=snapshot,
        decisions=decisions_json(plan.decisions, snapshot, plan.base.pk),
    )
    for other in plan.others:
        other.merged_into, other.merged_at = plan.base, now
    apply_decisions(plan.base, plan.decisions)
    return record


def _reason(record: MergeRecord) -> str:
    return merge_reason(record_id=record.pk, reason=record.reason)


def _merged_activity(record: MergeRecord, base: Person, now: datetime) -> Activity:
    actor = record.actor
    return Activity(
        person=base, original_person=base, kind=ActivityKind.MERGED,
        source=ActivitySource.SYSTEM, occurred_at=now, recorded_at=now,
        properties={"merge_record": record.pk, "merged_ids": record.merged_ids,
                    "reason": record.reason,
                    "actor": actor.get_username() if actor is not None else None},
    )
