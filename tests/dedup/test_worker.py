"""With a real Celery worker on a real Redis broker (PostgreSQL, committed data).

The worker is a subprocess (`celery -A crm worker --pool=solo`) pointed at this test database
and at Redis database 3 (the dedup helpers' own), purged before and after.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from dedup.models import DedupRun, DedupSchedule, DedupStatus
from dedup.services import create_run, run_dedup
from profiles.models import MergeRecord, Person
from tests.dedup.helpers import build_copy, canonical_state
from tests.factories import PersonFactory

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

BROKER = "redis://127.0.0.1:6379/3"
ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


def _redis():
    import redis

    client = redis.Redis.from_url(BROKER, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis does not answer on 127.0.0.1:6379 (.ci/run starts it)")
    return client


def database_url(db: dict) -> str:
    """The test database (real and committed with transactional_db) as a URL for the worker."""
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        db = connection.settings_dict
        self.log = tmp_path / f"worker-{time.monotonic_ns()}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(db),
            "CELERY_BROKER_URL": BROKER,
            "DJANGO_DEBUG": "true",
            **env,
        }
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(CELERY), "-A", "crm", "worker", "--pool=solo", "-c", "1", "-Q", "celery",
                 "-n", f"dedup-test-{os.getpid()}@%h", "--without-mingle", "--without-gossip",
                 "-l", "info"],
                cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture
def broker():
    client = _redis()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def start_worker(tmp_path, broker):
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(tmp_path, **env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


def send(task, *args) -> None:
    """Publish on the test broker, whatever broker this process's settings name."""
    from crm.celery import app

    with app.connection_for_write(BROKER) as conn:
        task.apply_async(args=args, connection=conn)


def wait_for(predicate, worker: Worker, timeout: float = 45.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if worker.process.poll() is not None and worker.process.returncode != -signal.SIGKILL:
            pytest.fail(f"worker exited: {worker.output()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; worker log:\n{worker.output()[-3000:]}")
        time.sleep(0.1)


def random_groups(seed: int, count: int) -> list[list[dict]]:
    rng = random.Random(seed)
    text = ["", "x", "Zed"]
    return [
        [
            {
                "case": rng.choice(["{}", " {}", "{} "]), "upper": rng.random() < 0.5,
                "user_id": "U1" if m == 0 and rng.random() < 0.3 else None,
                "status": rng.choice(["visitor", "user"]), "updated": rng.randint(0, 3),
                "phone": rng.choice(text), "city": rng.choice(text),
                "company": rng.choice(text), "name": rng.choice(text),
                "attributes": {"plan": rng.choice(text)} if rng.random() < 0.5 else {},
                "page_views": rng.randint(0, 5), "visits": rng.randint(0, 3),
                "last_seen": None, "last_contacted": None, "last_heard_from": None,
                "first_seen": None, "activities": rng.randint(0, 3),
                "tags": set(rng.sample(["t1", "t2", "t3"], rng.randint(0, 2))),
                "emails": set(rng.sample(["e1", "e2"], rng.randint(0, 1))),
                "anon": rng.random() < 0.5,
            }
            for m in range(rng.randint(2, 4))
        ]
        for _ in range(count)
    ]


def test_a_scheduled_run_executes_end_to_end(start_worker):
    from dedup import tasks

    base = PersonFactory(email="ann@example.com", updated_at=timezone.now() - timedelta(days=2))
    dup = PersonFactory(email=" ANN@example.com")
    DedupSchedule.objects.update_or_create(
        name="Nightly dedup", defaults={"next_run_at": datetime(2026, 1, 1, 1, tzinfo=UTC)})
    worker = start_worker()
    send(tasks.tick_schedules)
    wait_for(lambda: DedupRun.objects.filter(status=DedupStatus.SUCCEEDED).exists(), worker,
             what="the scheduled run to succeed")
    run = DedupRun.objects.get()
    assert (run.trigger, run.groups_merged) == ("schedule", 1)
    dup.refresh_from_db()
    assert dup.merged_into_id == base.pk
    assert MergeRecord.objects.get().dedup_run_id == run.pk
    schedule = DedupSchedule.objects.get()
    assert schedule.last_run_id == run.pk and schedule.next_run_at > timezone.now()


def test_a_worker_killed_mid_run_then_a_rerun_ends_as_an_uninterrupted_run(start_worker, broker):
    from dedup import tasks

    groups = random_groups(seed=5, count=8)
    copy_a = build_copy(groups, "a.test")
    run_dedup()  # the uninterrupted reference
    expected = canonical_state(copy_a, domain="a.test")

    copy_b = build_copy(groups, "b.test")
    worker = start_worker(DEDUP_CHUNK_GROUPS="2", DEDUP_CHUNK_DELAY_SECONDS="1.5")
    killed = create_run(trigger="staff")
    send(tasks.run_dedup_task, killed.pk)
    wait_for(lambda: DedupRun.objects.get(pk=killed.pk).chunks_done >= 1, worker,
             what="the first chunk to commit")
    time.sleep(0.5)  # the next chunk is now inside its transaction, sleeping
    worker.kill()
    killed.refresh_from_db()
    assert killed.status == DedupStatus.RUNNING and killed.chunks_done < killed.chunks_total
    half = MergeRecord.objects.filter(dedup_run=killed).count()
    assert 0 < half < len(groups)
    # Each group is fully merged or untouched: a tombstone's base has its journal entry.
    merged = set(Person.objects.filter(pk__in=[p.pk for p in copy_b], merged_into__isnull=False)
                 .values_list("pk", flat=True))
    journaled = {pk for r in MergeRecord.objects.filter(dedup_run=killed) for pk in r.merged_ids}
    assert merged == journaled

    broker.flushdb()  # the killed worker's queued chunks: the rerun must not depend on them
    rerun_worker = start_worker(DEDUP_STALE_AFTER_SECONDS="1")
    time.sleep(1.2)  # the killed run's heartbeat is now stale (its lock died with the worker)
    rerun = create_run(trigger="staff")
    send(tasks.run_dedup_task, rerun.pk)
    wait_for(lambda: DedupRun.objects.get(pk=rerun.pk).status == DedupStatus.SUCCEEDED,
             rerun_worker, what="the rerun to succeed")
    killed.refresh_from_db()
    assert killed.status == DedupStatus.FAILED and f"#{rerun.pk} took over" in killed.error

    assert canonical_state(copy_b, domain="b.test") == expected
    records = MergeRecord.objects.filter(base__in=[p.pk for p in copy_b])
    merged_ids = [pk for record in records for pk in record.merged_ids]
    assert len(merged_ids) == len(set(merged_ids))  # one journal entry per merge
    assert {r.dedup_run_id for r in records} == {killed.pk, rerun.pk}
