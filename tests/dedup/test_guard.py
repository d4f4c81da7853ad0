"""Never two runs at once; a dead run is taken over; chunks and tasks are safe to repeat."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, connections
from django.utils import timezone

from dedup import tasks
from dedup.models import DedupChunk, DedupRun, DedupStatus
from dedup.services import create_run, run_dedup, start_run
from dedup.services.chunks import process_chunk
from dedup.services.guard import LOCK_NAMESPACE
from profiles.models import MergeRecord, Person
from tests.factories import PersonFactory


def make_groups(n: int) -> None:
    for i in range(n):
        PersonFactory(email=f"g{i}@example.com", updated_at=timezone.now() - timedelta(days=1))
        PersonFactory(email=f"G{i}@example.com ")


def in_thread(target, results, key):
    def body():
        try:
            results[key] = target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_started_while_another_runs_records_itself_skipped(settings):
    settings.DEDUP_CHUNK_GROUPS = 1
    settings.DEDUP_CHUNK_DELAY_SECONDS = 0.3
    make_groups(3)
    results = {}
    first = in_thread(run_dedup, results, "first")
    deadline = time.monotonic() + 10
    while not DedupRun.objects.filter(status=DedupStatus.RUNNING).exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    second = run_dedup()
    first.join()
    assert second.status == DedupStatus.SKIPPED and "in progress" in second.error
    assert results["first"].status == DedupStatus.SUCCEEDED
    assert MergeRecord.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_started_at_the_same_instant_one_is_skipped(settings):
    settings.DEDUP_CHUNK_DELAY_SECONDS = 0.5
    make_groups(2)
    barrier = threading.Barrier(2)
    results = {}

    def go():
        barrier.wait()
        return run_dedup()

    threads = [in_thread(go, results, key) for key in ("a", "b")]
    for thread in threads:
        thread.join()
    statuses = sorted(run.status for run in results.values())
    assert statuses == [DedupStatus.SKIPPED, DedupStatus.SUCCEEDED]
    assert MergeRecord.objects.count() == 2


@pytest.mark.django_db
def test_a_dead_run_is_taken_over_and_the_job_finished():
    make_groups(2)
    dead = DedupRun.objects.create(
        trigger="schedule", status=DedupStatus.RUNNING,
        started_at=timezone.now() - timedelta(hours=2),
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    run = run_dedup()
    dead.refresh_from_db()
    assert run.status == DedupStatus.SUCCEEDED and run.groups_merged == 2
    assert dead.status == DedupStatus.FAILED and f"Run #{run.pk} took over" in dead.error


@pytest.mark.django_db
def test_a_live_run_is_not_taken_over():
    DedupRun.objects.create(trigger="schedule", status=DedupStatus.RUNNING,
                            started_at=timezone.now(), heartbeat_at=timezone.now())
    assert run_dedup().status == DedupStatus.SKIPPED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_holds_the_lock_is_alive_even_with_an_old_heartbeat():
    old = timezone.now() - timedelta(hours=1)
    busy = DedupRun.objects.create(trigger="staff", status=DedupStatus.RUNNING,
                                   started_at=old, heartbeat_at=old)
    held, release = threading.Event(), threading.Event()

    def worker():
        with connection.cursor() as cursor:  # this thread's own connection
            cursor.execute("SELECT pg_advisory_lock_shared(%s, %s)", [LOCK_NAMESPACE, busy.pk])
            held.set()
            release.wait(10)
            cursor.execute("SELECT pg_advisory_unlock_shared(%s, %s)", [LOCK_NAMESPACE, busy.pk])

    thread = in_thread(worker, {}, "w")
    held.wait(10)
    try:
        assert run_dedup().status == DedupStatus.SKIPPED
    finally:
        release.set()
        thread.join()
    assert run_dedup().status == DedupStatus.SUCCEEDED  # lock gone + old heartbeat: dead


@pytest.mark.django_db
def test_killed_half_way_leaves_groups_whole_and_the_next_run_completes(settings):
    settings.DEDUP_CHUNK_GROUPS = 1
    make_groups(3)
    real = process_chunk
    calls = {"n": 0}

    def dies_on_second_chunk(*, chunk_id):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real(chunk_id=chunk_id)

    with mock.patch("dedup.services.runs.process_chunk", dies_on_second_chunk), \
            pytest.raises(RuntimeError):
        run_dedup()
    failed = DedupRun.objects.get()
    assert failed.status == DedupStatus.FAILED and "worker lost" in failed.error
    assert MergeRecord.objects.count() == 1  # chunk 1 whole, chunk 2 untouched
    assert Person.objects.filter(merged_into__isnull=False).count() == 1
    again = run_dedup()
    assert (again.status, again.groups_merged) == (DedupStatus.SUCCEEDED, 2)
    assert MergeRecord.objects.count() == 3
    assert Person.objects.filter(merged_into__isnull=True).count() == 3


@pytest.mark.django_db
def test_chunk_and_run_tasks_are_safe_to_redeliver(settings):
    settings.DEDUP_CHUNK_GROUPS = 1
    make_groups(2)
    run = create_run()
    chunk_ids = start_run(run_id=run.pk)
    # Redelivered while the run is alive: nothing (the first delivery enqueued the chunks).
    assert start_run(run_id=run.pk) == []
    # Redelivered after its worker died: it resumes the same plan, nothing planned twice.
    DedupRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert start_run(run_id=run.pk) == chunk_ids
    assert DedupChunk.objects.filter(run=run).count() == 2
    assert process_chunk(chunk_id=chunk_ids[0]) is True
    assert process_chunk(chunk_id=chunk_ids[0]) is False  # already done
    tasks.dedup_chunk_task(chunk_ids[1], run.pk)
    tasks.dedup_chunk_task(chunk_ids[1], run.pk)
    run.refresh_from_db()
    assert (run.status, run.groups_merged, run.chunks_done) == (DedupStatus.SUCCEEDED, 2, 2)
    assert MergeRecord.objects.count() == 2
    with mock.patch.object(tasks.dedup_chunk_task, "delay") as delay:
        assert tasks.run_dedup_task(run.pk) == 0  # finished: nothing to enqueue
    delay.assert_not_called()


@pytest.mark.django_db
def test_run_task_spreads_chunks_and_the_last_one_finishes_the_run(settings):
    settings.DEDUP_CHUNK_GROUPS = 1
    make_groups(3)
    run = create_run(trigger="staff")
    with mock.patch.object(tasks.dedup_chunk_task, "delay") as delay:
        assert tasks.run_dedup_task(run.pk) == 3
    for call in reversed(delay.call_args_list):  # any order, as on several workers
        tasks.dedup_chunk_task(*call.args)
    run.refresh_from_db()
    assert (run.status, run.groups_merged, run.chunks_done) == (DedupStatus.SUCCEEDED, 3, 3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_event_recorded_for_a_duplicate_during_the_chunk_lands_on_the_base(settings):
    from django.db import transaction

    from profiles.models import Activity
    from profiles.services.tombstones import resolve_live

    settings.DEDUP_CHUNK_DELAY_SECONDS = 0.6
    base = PersonFactory(email="ann@example.com", updated_at=timezone.now() - timedelta(days=1))
    dup = PersonFactory(email="ANN@example.com")
    results = {}
    runner = in_thread(run_dedup, results, "run")
    deadline = time.monotonic() + 10
    while not DedupChunk.objects.exists():  # the chunk is planned; its lock comes next
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.3)  # inside the chunk transaction, people locked
    with transaction.atomic():
        person = resolve_live(dup.pk, lock=True)  # waits for the chunk, then follows the tombstone
        Activity.objects.create(person=person, original_person=person, kind="page_view")
    runner.join()
    assert results["run"].status == DedupStatus.SUCCEEDED
    assert Activity.objects.get(kind="page_view").person_id == base.pk
