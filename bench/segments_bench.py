"""Segments at scale on PostgreSQL: set-based rebuilds next to a naive per-person loop, and the
real-time cost on the recording path, in the same run.

Usage:

    .venv/bin/python bench/segments_bench.py [--people 1000000] [--naive 2000] [--events 2000]
                                             [--rebuild]

Data: the reference set of docs/rules.md, Scale (profiles.demo.reference: 10 activities and
~1.5 identities per person), built once into `onefold_bench_dedup_seed_<N>` — the same seed the
dedup benchmark uses — and copied for every run (`CREATE DATABASE … TEMPLATE`), so the run
starts from the same data and the seed stays clean.

Printed, in one run on the same data:
1. a property segment (city in 3 cities, status user, attributes.purchases.count ≥ 1):
   `create_segment` (its first rebuild: everyone enters, with their activities), then a
   `rebuild_segment` with nothing to change; targets ≤ 5 s;
2. a behaviour segment (≥ 2 "added_to_cart" events in the last 365 days): the same; ≤ 30 s;
3. the naive baseline: the per-person check (`Compiled.matches`, what a per-contact cron loop
   does) over `--naive` random live people, extrapolated to every live person, and the ratio
   to the set-based rebuild (target ≥ 50×);
4. real-time cost: `--events` page views recorded one by one through the recording path
   (`record_events` under the person's lock, as `track` does) with no segment, then with 20
   segments defined (half reading what a page view changes), alternating halves; events/s
   of each and the ratio (target ≥ 0.85). In process, not over HTTP: bench/ingest_bench.py
   measures the HTTP stack.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.dedup_bench import admin_sql, build_seed, use_database  # noqa: E402 (django.setup)
from profiles.models import ActivityKind, Person  # noqa: E402
from profiles.services.events import Event, record_events  # noqa: E402
from profiles.services.resolution import lock_live  # noqa: E402
from segments.models import Segment  # noqa: E402
from segments.services import create_segment, rebuild_segment  # noqa: E402
from segments.services.membership import compiled  # noqa: E402

RUN_DB = "onefold_bench_segments_run"
PROPERTY = {"all": [
    {"field": "city", "op": "in", "value": ["Paris", "Berlin", "Madrid"]},
    {"field": "status", "op": "eq", "value": "user"},
    {"field": "attributes.purchases.count", "op": "gte", "value": 1},
]}
BEHAVIOUR = {"kind": "event", "where": {"name": "added_to_cart"},
             "count": {"op": "gte", "value": 2}, "within_days": 365}


def fresh_copy(seed: str) -> None:
    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{RUN_DB}"')
    started = time.perf_counter()
    admin_sql(f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{seed}"')
    use_database(RUN_DB)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
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
        holder["segment"] = create_segment(name=name, definition=definition)
        return f"({holder['segment'].member_count:,} members entered)"

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
    ids = set()
    while len(ids) < min(sample, total):
        ids.add(rng.randint(1, top))
    people = list(live.filter(pk__in=ids))
    rule = compiled(segment)
    started = time.perf_counter()
    matched = sum(1 for person in people if rule.matches(person))
    per_person = (time.perf_counter() - started) / max(len(people), 1)
    estimate = per_person * total
    print(f"  naive per-person loop: {len(people):,} people in {per_person * len(people):.2f}s "
          f"({matched} match) → {estimate:,.0f}s for {total:,}; set-based is "
          f"{estimate / rebuild_time:,.0f}× faster (target ≥ 50×)")


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
    parser.add_argument("--rebuild", action="store_true", help="build the seed again")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("The segments benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    fresh_copy(build_seed(args.people, args.rebuild))
    segment, first = rebuilds("Property", PROPERTY, 5)
    naive(segment, args.naive, first)
    segment, first = rebuilds("Behaviour", BEHAVIOUR, 30)
    naive(segment, args.naive, first)
    realtime(args.events)
    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{RUN_DB}"')


if __name__ == "__main__":
    main()
