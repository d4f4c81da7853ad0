"""Merges under real concurrency on PostgreSQL: threads, each with its own connection."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connections, transaction

from profiles.models import Activity, MergeRecord, Person
from profiles.services import MergeRefused, merge_people, undo_merge
from profiles.services.merging import (
    conservation_problems,
    invariant_problems,
    rows_by_relation,
)
from profiles.services.tombstones import resolve_live
from tests.factories import (
    ActivityFactory,
    IdentityFactory,
    PersonFactory,
    PersonTagFactory,
    TagFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(*targets: Callable[[], object]) -> list[object]:
    """Run each target in its own thread; return each result or the exception it raised."""
    results: list[object] = [None] * len(targets)

    def runner(index: int, target: Callable[[], object]) -> None:
        try:
            results[index] = target()
        except Exception as exc:  # reported to the test, which asserts on it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=item) for item in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def opposite_merges(first: Person, second: Person) -> list[object]:
    """first→second and second→first started at the same instant."""
    barrier = threading.Barrier(2)

    def merge(base: Person, other: Person) -> object:
        barrier.wait()
        return merge_people(base=base, others=[other])

    return run_threads(lambda: merge(first, second), lambda: merge(second, first))


def test_opposite_merges_at_once_end_with_exactly_one_merge():
    for _ in range(5):
        first, second = PersonFactory(), PersonFactory()
        ActivityFactory.create_batch(3, person=first)

        results = opposite_merges(first, second)

        records = [r for r in results if isinstance(r, MergeRecord)]
        refusals = [r for r in results if isinstance(r, MergeRefused)]
        assert len(records) == 1 and len(refusals) == 1, results
        assert refusals[0].code in {"tombstone", "already_merged"}
        live = Person.objects.filter(pk__in=[first.pk, second.pk], merged_into__isnull=True)
        assert list(live) == [records[0].base]
    assert invariant_problems() == []


@pytest.mark.parametrize("shared", [False, True], ids=["for-no-key-update", "for-share"])
def test_activity_recorded_while_the_merge_runs_ends_on_the_base(shared):
    base, duplicate = PersonFactory(), PersonFactory()
    merged, inserting = threading.Event(), threading.Event()

    def merge() -> object:
        with transaction.atomic():
            record = merge_people(base=base, others=[duplicate])
            merged.set()
            inserting.wait(5)
            time.sleep(0.3)  # the insert is now waiting on the duplicate's lock
        return record

    def record_event() -> object:
        merged.wait(5)
        inserting.set()
        with transaction.atomic():
            person = resolve_live(duplicate.pk, lock=True, shared=shared)
            return Activity.objects.create(person=person, original_person=person, kind="event")

    record, activity = run_threads(merge, record_event)

    assert isinstance(record, MergeRecord), record
    assert Activity.objects.get(pk=activity.pk).person_id == base.pk


def test_activity_recorded_just_before_the_merge_is_moved_by_it():
    base, duplicate = PersonFactory(), PersonFactory()
    locked = threading.Event()

    def record_event() -> object:
        with transaction.atomic():
            person = resolve_live(duplicate.pk, lock=True)
            activity = Activity.objects.create(person=person, original_person=person, kind="event")
            locked.set()
            time.sleep(0.3)  # the merge is now waiting on this lock
        return activity

    def merge() -> object:
        locked.wait(5)
        return merge_people(base=base, others=[duplicate])

    activity, record = run_threads(record_event, merge)

    assert isinstance(record, MergeRecord), record
    assert Activity.objects.get(pk=activity.pk).person_id == base.pk


def test_merge_storm_keeps_every_invariant():
    rng = random.Random(7)
    tags = [TagFactory(name=f"storm-{index}") for index in range(3)]
    people = []
    for index in range(20):
        person = PersonFactory(user_id=f"user-{index}" if index % 5 == 0 else None)
        ActivityFactory.create_batch(rng.randint(0, 4), person=person)
        IdentityFactory(person=person)
        IdentityFactory(person=person, kind="email", value=f"shared{index % 3}@example.com")
        PersonTagFactory(person=person, tag=rng.choice(tags))
        people.append(person.pk)
    before = rows_by_relation()
    deadline = time.monotonic() + 4
    unexpected: list[Exception] = []

    def storm(seed: int) -> int:
        local, done = random.Random(seed), 0
        while time.monotonic() < deadline:
            chosen = local.sample(people, local.randint(2, 3))
            try:
                if local.random() < 0.2:
                    standing = MergeRecord.objects.filter(undone_at__isnull=True)
                    record = standing.order_by("?").first()
                    if record is not None:
                        undo_merge(record=record)
                else:
                    merge_people(base=chosen[0], others=chosen[1:])
                done += 1
            except MergeRefused:
                pass
            except Exception as exc:  # deadlocks or integrity errors would land here
                unexpected.append(exc)
        return done

    results = run_threads(*(lambda seed=seed: storm(seed) for seed in range(4)))

    assert unexpected == [] and all(isinstance(result, int) for result in results), results
    assert MergeRecord.objects.filter(undone_at__isnull=False).exists()  # undos raced too
    assert sum(results) > 0
    assert invariant_problems() == []
    assert conservation_problems(before) == []
    for record in MergeRecord.objects.filter(undone_at__isnull=True):
        assert set(
            Person.objects.filter(pk__in=record.merged_ids).values_list("merged_into", flat=True)
        ) == {record.base_id}


@pytest.mark.parametrize("operation", ["merge", "undo"])
def test_a_deadlock_on_every_attempt_is_a_refusal_in_words(operation, monkeypatch):
    from django.db import OperationalError

    from profiles.services.merging import UndoRefused
    from profiles.services.merging import merge as engine

    class Deadlock(Exception):
        sqlstate = "40P01"

    def deadlocked(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OperationalError("deadlock detected") from Deadlock()

    base, other = PersonFactory(), PersonFactory()
    if operation == "merge":
        monkeypatch.setattr(engine, "_run_once", deadlocked)
        with pytest.raises(MergeRefused) as refused:
            merge_people(base=base, others=[other])
    else:
        record = merge_people(base=base, others=[other])
        monkeypatch.setattr("profiles.services.merging.undo._undo", deadlocked)
        with pytest.raises(UndoRefused) as refused:
            undo_merge(record=record)

    assert refused.value.code == "busy"
    assert "nothing was changed" in refused.value.messages[0]
    assert isinstance(refused.value.__cause__, OperationalError)
