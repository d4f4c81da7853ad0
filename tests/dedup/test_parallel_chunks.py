"""One run_dedup call merges DEDUP_PARALLEL_CHUNKS chunks at once (PostgreSQL): forked
processes, or threads where this process may not fork.

Each has its own connection, so these tests commit for real (transaction=True).
"""

from __future__ import annotations

import pytest
from django.db import connection

from dedup.models import DedupStatus
from dedup.services import run_dedup, runs
from profiles.models import MergeRecord, Person
from profiles.services.merging import conservation_problems, rows_by_relation
from tests.factories import ActivityFactory, PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("threads need their own PostgreSQL connections")


def make_groups(n: int) -> None:
    for i in range(n):
        PersonFactory(email=f"g{i}@example.com")
        dup = PersonFactory(email=f" G{i}@Example.com")
        ActivityFactory.create_batch(2, person=dup)


@pytest.mark.parametrize("daemon", [False, True], ids=["processes", "threads"])
def test_chunks_are_merged_in_parallel_with_the_same_result(settings, monkeypatch, daemon):
    settings.DEDUP_CHUNK_GROUPS, settings.DEDUP_PARALLEL_CHUNKS = 2, 3
    settings.DEDUP_CHUNK_DELAY_SECONDS = 0.2  # no single worker takes every chunk
    make_groups(7)
    if daemon:  # a Celery prefork child may not fork: threads instead
        monkeypatch.setattr(runs.multiprocessing.current_process(), "_config",
                            {**runs.multiprocessing.current_process()._config, "daemon": True})
    real = runs.process_chunk

    def spy(*, chunk_id):
        real(chunk_id=chunk_id)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE dedup_dedupchunk SET report = report || to_jsonb(pg_backend_pid()) "
                "WHERE id = %s", [chunk_id])

    monkeypatch.setattr(runs, "process_chunk", spy)
    before = rows_by_relation()
    run = run_dedup()
    assert run.status == DedupStatus.SUCCEEDED
    assert (run.chunks_total, run.chunks_done, run.groups_merged) == (4, 4, 7)
    # Each chunk's last report item is the backend that merged it: more than one connection.
    assert len({chunk.report[-1] for chunk in run.chunks.all()}) > 1
    assert MergeRecord.objects.filter(dedup_run=run).count() == 7
    assert Person.objects.filter(merged_into__isnull=True).count() == 7
    assert conservation_problems(before) == []


def test_a_failing_chunk_fails_the_run_and_stops_the_rest(settings, monkeypatch):
    settings.DEDUP_CHUNK_GROUPS, settings.DEDUP_PARALLEL_CHUNKS = 1, 2
    make_groups(5)

    def broken(*, chunk_id):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runs, "process_chunk", broken)
    with pytest.raises(RuntimeError):
        run_dedup()
    from dedup.models import DedupRun

    run = DedupRun.objects.get()
    assert run.status == DedupStatus.FAILED and "disk on fire" in run.error
    assert Person.objects.filter(merged_into__isnull=True).count() == 10
