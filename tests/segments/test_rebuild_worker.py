"""A rebuild on real Celery workers on a real Redis broker (PostgreSQL, committed data): two
worker processes share its chunks, and the members come out exact; the minute task, sent as
the beat sends it, makes people leave when a window passes.

The workers are subprocesses (`celery -A crm worker --pool=solo`) pointed at this test
database and at the Redis database CELERY_BROKER_URL names (each developer's own; CI's),
purged before and after.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from profiles.models import Activity, ActivityKind
from segments.models import RebuildState, SegmentRebuild
from segments.services import create_segment, update_segment
from segments.tasks import refresh_time_windows_task
from tests.dedup.test_worker import database_url
from tests.factories import ActivityFactory, PersonFactory
from tests.segments.helpers import matched

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
BUYERS = {"all": [{"field": "city", "op": "in", "value": ["Paris", "Rome"]},
                  {"kind": "purchase", "count": {"op": "gte", "value": 1}}]}


@pytest.fixture
def broker():
    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://… (.ci/run sets it)")
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis does not answer (.ci/run starts it)")
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def workers(broker, tmp_path, settings):
    settings.SEGMENT_REBUILD_CHUNK_PEOPLE = 5  # planned here: 60 people, 12 chunks
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict),
           "CELERY_BROKER_URL": broker, "DJANGO_DEBUG": "true",
           # Each chunk takes a while, so one worker cannot take them all.
           "SEGMENT_REBUILD_CHUNK_DELAY_SECONDS": "0.3"}
    started = []
    for n in range(2):
        log = tmp_path / f"worker-{n}.log"
        with log.open("w") as out:
            started.append((log, subprocess.Popen(
                [str(CELERY), "-A", "crm", "worker", "--pool=solo", "-Q", "celery",
                 "-n", f"segments-test-{n}-{os.getpid()}@%h", "--without-mingle",
                 "--without-gossip", "-l", "info"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)))
    yield started
    for _, process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)


def wait_until_done(rebuild_id: int, workers, timeout: float = 90.0) -> SegmentRebuild:
    deadline = time.monotonic() + timeout
    while True:
        rebuild = SegmentRebuild.objects.get(pk=rebuild_id)
        if rebuild.state != RebuildState.RUNNING:
            return rebuild
        if time.monotonic() > deadline:
            logs = "\n".join(log.read_text()[-2000:] for log, _ in workers)
            pytest.fail(f"rebuild still running: {rebuild.chunks_done}/{rebuild.chunks_total}"
                        f"\n{logs}")
        time.sleep(0.1)


def test_two_workers_share_the_chunks_and_the_members_are_exact(workers):
    people = [PersonFactory(city=("Paris", "Rome", "Oslo")[n % 3]) for n in range(60)]
    for person in people[::2]:
        ActivityFactory(person=person, kind=ActivityKind.PURCHASE)
    segment = create_segment(name="Buyers", definition=BUYERS, in_background=True)
    rebuild = wait_until_done(SegmentRebuild.objects.get(segment=segment).pk, workers)
    assert rebuild.state == RebuildState.FINISHED
    assert rebuild.chunks_done == rebuild.chunks_total == 12
    expected = matched(BUYERS)
    assert len(expected) == 20
    assert set(segment.memberships.values_list("person_id", flat=True)) == expected
    entered = Activity.objects.filter(kind=ActivityKind.SEGMENT_ENTERED,
                                      properties__segment_id=segment.pk)
    assert sorted(entered.values_list("person_id", flat=True)) == sorted(expected)
    assert (rebuild.entered, rebuild.left, rebuild.members) == (20, 0, 20)
    segment.refresh_from_db()
    assert segment.member_count == 20 and segment.last_rebuilt_at == rebuild.finished_at
    # Both workers took chunks.
    took = [log.read_text().count("segments.tasks.rebuild_chunk") for log, _ in workers]
    assert all(took), took

    # An edit while the workers rebuild: the running rebuild stops, the new one is exact.
    first = create_segment(name="Again", definition=BUYERS, in_background=True)
    running = SegmentRebuild.objects.get(segment=first)
    time.sleep(0.5)
    update_segment(segment=first, definition={"field": "city", "op": "eq", "value": "Oslo"},
                   in_background=True)
    latest = wait_until_done(SegmentRebuild.objects.filter(segment=first).first().pk, workers)
    running.refresh_from_db()
    assert running.state == RebuildState.SUPERSEDED and running.chunks_done < 12
    assert latest.state == RebuildState.FINISHED
    oslo = matched({"field": "city", "op": "eq", "value": "Oslo"})
    assert set(first.memberships.values_list("person_id", flat=True)) == oslo


def test_the_minute_task_on_a_worker_makes_people_leave_when_a_window_passes(workers):
    recent, lapsing = PersonFactory(), PersonFactory()
    ActivityFactory(person=recent, kind=ActivityKind.PURCHASE,
                    occurred_at=timezone.now() - dt.timedelta(days=1))
    lapse = ActivityFactory(person=lapsing, kind=ActivityKind.PURCHASE,
                            occurred_at=timezone.now() - dt.timedelta(days=29))
    buyers = create_segment(name="Bought this month", definition={
        "kind": "purchase", "within_days": 30})
    assert set(buyers.memberships.values_list("person_id", flat=True)) == {recent.pk,
                                                                          lapsing.pk}
    # Two days later, as far as the data is concerned; the beat's task, sent to the broker.
    Activity.objects.filter(pk=lapse.pk).update(
        occurred_at=lapse.occurred_at - dt.timedelta(days=2))
    refresh_time_windows_task.delay()
    deadline = time.monotonic() + 60
    while buyers.memberships.filter(person=lapsing).exists():
        if time.monotonic() > deadline:
            logs = "\n".join(log.read_text()[-2000:] for log, _ in workers)
            pytest.fail(f"the minute task did not run on a worker\n{logs}")
        time.sleep(0.1)
    assert set(buyers.memberships.values_list("person_id", flat=True)) == {recent.pk}
    assert Activity.objects.filter(kind=ActivityKind.SEGMENT_LEFT, person=lapsing,
                                   properties__segment_id=buyers.pk).count() == 1
    took = [log.read_text().count("segments.tasks.refresh_time_windows") for log, _ in workers]
    assert sum(took) >= 1, took
