"""Segments at scale on PostgreSQL: chunked set-based rebuilds next to a naive per-person loop,
and the real-time cost on the recording path, in the same run.

Usage:

    .venv/bin/python bench/segments_bench.py [--people 1000000] [--naive 2000] [--events 2000]
                                             [--workers 2] [--skip-realtime]

Data: the reference set of docs/rules.md, Scale (profiles.demo.reference: 10 activities and
~1.5 identities per person), built once into `onefold_bench_dedup_seed_<N>` — the same seed the
dedup benchmark uses, never dropped here — and copied for every run (`CREATE DATABASE …
TEMPLATE … STRATEGY FILE_COPY`, then a CHECKPOINT), so the run starts from the same data and
the seed stays clean. A seed written before page views carried their shop section gets the
`category` of its `/sale` page views in the copy (one UPDATE, before the statistics are
taken).

Printed, in one run on the same data:
1. a property segment (city in 3 cities, status user, attributes.purchases.count ≥ 1):
   `create_segment` (its first rebuild, in chunks of SEGMENT_REBUILD_CHUNK_PEOPLE live people,
   one after another in this process: everyone enters, with their activities), then a
   `rebuild_segment` with nothing to change; target ≤ 5 s;
2. a behaviour segment (≥ 3 page views with category "sale" in the last 30 days): the same;
   target ≤ 30 s;
3. after each, the naive baseline over `--naive` random live people, extrapolated to every
   live person: a per-person loop as a per-contact cron does it (load the person, check the
   rule with `Compiled.matches`, compare with the stored membership, write the change:
   `evaluate_people` per person, rolled back), and the ratio to the set-based first rebuild
   (target ≥ 50×); the check alone on preloaded people is printed too;
4. with `--workers N` (default 2): N real Celery workers (`celery -A crm worker`, on
   CELERY_BROKER_URL, pointed at the copy) share the chunks of both segments' first rebuild,
   started as the admin starts it (`create_segment(in_background=True)`); time from the
   start to the rebuild's finish, with the workers already up;
5. real-time cost: `--events` page views recorded one by one through the recording path
   (`record_events` under the person's lock, as `track` does) with no segment, then with 20
   segments defined (half reading what a page view changes), alternating halves; events/s
   of each and the ratio (target ≥ 0.85). In process, not over HTTP: bench/ingest_bench.py
   measures the HTTP stack.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.dedup_bench import admin_sql, copy_database, database_exists  # noqa: E402
from profiles.models import ActivityKind, Person  # noqa: E402
from profiles.services.events import Event, record_events  # noqa: E402
from profiles.services.resolution import lock_live  # noqa: E402
from segments.models import RebuildState, Segment, SegmentRebuild  # noqa: E402
from segments.services import create_segment, evaluate_people, rebuild_segment  # noqa: E402
from segments.services.membership import compiled  # noqa: E402

SEED_DB = "onefold_bench_dedup_seed_{people}"
RUN_DB = "onefold_bench_segments_run"
PROPERTY = {"all": [
    {"field": "city", "op": "in", "value": ["Paris", "Berlin", "Madrid"]},
    {"field": "status", "op": "eq", "value": "user"},
    {"field": "attributes.purchases.count", "op": "gte", "value": 1},
]}
BEHAVIOUR = {"kind": "page_view", "where": {"category": "sale"},
             "count": {"op": "gte", "value": 3}, "within_days": 30}


def seed(people: int) -> str:
    name = SEED_DB.format(people=people)
    if not database_exists(name):
        from bench.dedup_bench import build_seed

        return build_seed(people, False)
    print(f"reusing seeded database {name}")
    return name


def fresh_copy(seed_name: str) -> None:
    started = time.perf_counter()
    copy_database(seed_name, RUN_DB)
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM profiles_activity WHERE kind = 'page_view' "
                       "AND properties ? 'category')")
        if not cursor.fetchone()[0]:
            cursor.execute("UPDATE profiles_activity SET properties = properties || "
                           "'{\"category\": \"sale\"}' WHERE kind = 'page_view' "
                           "AND properties ->> 'url' = '/sale'")
            print(f"  (a seed without page categories: {cursor.rowcount:,} /sale page views "
                  "got theirs)")
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")  # the copy's writes flushed before anything is timed
    print(f"fresh copy of the seeded data in {time.perf_counter() - started:.1f}s")


def timed(label: str, work) -> float:  # noqa: ANN001
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    print(f"  {label}: {elapsed:.2f}s {result if result is not None else ''}")
    return elapsed


def rebuilds(name: str, definition: dict, target: float) -> tuple[Segment, float]:
    print(f"{name} segment:")
    holder: dict = {}

    def create() -> str:
        segment = holder["segment"] = create_segment(name=name, definition=definition)
        rebuild = segment.rebuilds.get()
        return (f"({segment.member_count:,} members entered, {rebuild.chunks_total} chunks "
                "in this process)")

    first = timed("create_segment (first rebuild, everyone enters)", create)
    timed("rebuild_segment (nothing changed)",
          lambda: f"(entered, left) = {rebuild_segment(segment=holder['segment'])}")
    print(f"  target ≤ {target:.0f}s: {'met' if first <= target else 'NOT met'}")
    return holder["segment"], first


def naive(segment: Segment, sample: int, rebuild_time: float) -> None:
    live = Person.objects.filter(merged_into__isnull=True)
    total = live.count()
    top = live.order_by("-pk").values_list("pk", flat=True).first()
    rng = random.Random(7)
    ids: set[int] = set()
    while len(ids) < min(sample, total):
        ids.add(rng.randint(1, top))
    ids = set(live.filter(pk__in=ids).values_list("pk", flat=True))
    with transaction.atomic():  # rolled back: the memberships are as the rebuild left them
        segment.memberships.all().delete()  # as before the first rebuild
        started = time.perf_counter()
        for pk in sorted(ids):
            evaluate_people(people=[lock_live(pk)], segments=[segment])
        loop = time.perf_counter() - started
        entered = segment.memberships.count()
        transaction.set_rollback(True)
    people = list(live.filter(pk__in=ids))
    rule = compiled(segment)
    started = time.perf_counter()
    matched = sum(1 for person in people if rule.matches(person))
    check = time.perf_counter() - started
    estimate = loop / max(len(ids), 1) * total
    print(f"  naive per-person loop (load, check, write): {len(ids):,} people in {loop:.2f}s "
          f"({entered} entered) → {estimate:,.0f}s for {total:,}; the set-based rebuild is "
          f"{estimate / rebuild_time:,.0f}× faster (target ≥ 50×)")
    print(f"  (the check alone, people preloaded: {check:.2f}s, {matched} match → "
          f"{check / max(len(people), 1) * total:,.0f}s for {total:,})")


def start_workers(count: int) -> list[subprocess.Popen]:
    settings = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{settings['USER'] or 'postgres'}@"
           f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{RUN_DB}"}
    celery = Path(sys.executable).with_name("celery")
    log = open(f"/tmp/segments-bench-workers-{os.getpid()}.log", "w")  # noqa: SIM115
    workers = [subprocess.Popen(
        [str(celery), "-A", "crm", "worker", "--pool=solo", "-Q", "celery", "-n",
         f"segments-bench-{n}-{os.getpid()}@%h", "--without-mingle", "--without-gossip",
         "-l", "warning"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        for n in range(count)]
    time.sleep(8)  # started and listening before the clock starts
    return workers


def on_workers(count: int) -> None:
    from crm.celery import app

    app.control.purge()
    workers = start_workers(count)
    try:
        for name, definition in (("Property", PROPERTY), ("Behaviour", BEHAVIOUR)):
            started = time.perf_counter()
            segment = create_segment(name=f"{name} (workers)", definition=definition,
                                     in_background=True)
            rebuild = segment.rebuilds.get()
            while rebuild.state == RebuildState.RUNNING:
                time.sleep(0.05)
                rebuild = SegmentRebuild.objects.get(pk=rebuild.pk)
            elapsed = time.perf_counter() - started
            print(f"{name} segment on {count} Celery workers: {elapsed:.2f}s, {rebuild.state}, "
                  f"{rebuild.chunks_done}/{rebuild.chunks_total} chunks, "
                  f"{rebuild.entered:,} entered")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(30)


def realtime(events: int) -> None:
    person_ids = list(Person.objects.filter(merged_into__isnull=True)
                      .order_by("pk").values_list("pk", flat=True)[:200])

    def record(count: int) -> float:
        started = time.perf_counter()
        for n in range(count):
            with transaction.atomic():
                person = lock_live(person_ids[n % len(person_ids)])
                record_events(person=person, events=[Event(
                    kind=ActivityKind.PAGE_VIEW, occurred_at=timezone.now(),
                    properties={"url": f"https://shop.example/p/{n}", "category": "sale"})])
        return count / (time.perf_counter() - started)

    def define_twenty() -> None:
        for n in range(10):  # read what a page view changes
            create_segment(name=f"Reader {n}", definition={
                "kind": "page_view", "where": {"category": "sale"},
                "count": {"op": "gte", "value": n + 2}, "within_days": 30})
        for n in range(10):  # read only what a page view does not change
            create_segment(name=f"Town {n}", definition={
                "field": "city", "op": "eq", "value": f"Town {n}"})

    Segment.objects.all().delete()
    half = events // 2
    without = [record(half)]
    define_twenty()
    with_segments = [record(half)]
    Segment.objects.all().delete()
    without.append(record(half))
    define_twenty()
    with_segments.append(record(half))
    base, loaded = statistics.mean(without), statistics.mean(with_segments)
    print(f"real time, page views one by one: {base:,.0f}/s without segments, {loaded:,.0f}/s "
          f"with 20 segments: {loaded / base:.2f}× (target ≥ 0.85)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=2000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-realtime", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("The segments benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    fresh_copy(seed(args.people))
    segment, first = rebuilds("Property", PROPERTY, 5)
    naive(segment, args.naive, first)
    segment, first = rebuilds("Behaviour", BEHAVIOUR, 30)
    naive(segment, args.naive, first)
    if args.workers:
        on_workers(args.workers)
    if not args.skip_realtime:
        realtime(args.events)
    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{RUN_DB}"')


if __name__ == "__main__":
    main()
