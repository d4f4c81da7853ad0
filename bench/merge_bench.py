"""Merge engine speed on PostgreSQL, next to a naive per-object merge measured in the same run.

Usage:

    .venv/bin/python bench/merge_bench.py [--merges 1000] [--naive-merges 100]
                                          [--big 100000] [--naive-big 10000] [--keep]
                                          [--db-name onefold_bench_merge]

It creates its own database (`onefold_bench_merge`, next to the one DATABASE_URL names), runs
the migrations, builds the data with bulk writes, measures, and drops the database again.

1. `--merges` merges of a 50-activity person (plus an identity, a conversation, a tag) into
   another person: p50/p95/p99 in ms of `merge_people`.
2. The naive baseline on the same shape: what generic merge tools do (per related object:
   set the foreign key, `save()`), in one transaction, `--naive-merges` times; and a floor:
   the same row moves as bare UPDATE statements (one per table, plus the tombstone) without
   journal, history or checks. All three are interleaved so they see the same machine load.
3. One merge of a person with `--big` activities (and the undo of it), next to the naive loop
   on `--naive-big` activities, extrapolated linearly to `--big` (said so in the output).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/onefold_dev")
os.environ["TEST_DATABASE_NAME"] = "onefold_bench_merge"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
os.environ["DJANGO_DEBUG"] = "false"  # DEBUG would record every query in memory

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from profiles.models import (  # noqa: E402
    Activity,
    Conversation,
    Identity,
    Person,
    PersonTag,
    Tag,
)
from profiles.services import merge_people, undo_merge  # noqa: E402
from profiles.services.merging import person_relations  # noqa: E402


def make_people(count: int, prefix: str) -> list[Person]:
    now = timezone.now()
    return Person.objects.bulk_create(
        Person(name=f"{prefix} {index}", email=f"{prefix}{index}@example.com",
               status="user", created_at=now, updated_at=now, page_views=3, visits=1)
        for index in range(count)
    )


def give_rows(people: list[Person], activities: int, tag: Tag) -> None:
    """`activities` activities, one identity, one conversation and one tag per person."""
    now = timezone.now()
    batch = []
    for person in people:
        batch += [
            Activity(person=person, original_person=person, kind="page_view", occurred_at=now,
                     properties={"url": f"/p/{index}"})
            for index in range(activities)
        ]
        if len(batch) >= 20_000:
            Activity.objects.bulk_create(batch)
            batch = []
    Activity.objects.bulk_create(batch)
    Identity.objects.bulk_create(
        Identity(person=p, original_person=p, kind="anonymous_id", value=f"anon-{p.pk}")
        for p in people
    )
    Conversation.objects.bulk_create(Conversation(person=p, original_person=p) for p in people)
    PersonTag.objects.bulk_create(PersonTag(person=p, original_person=p, tag=tag) for p in people)


def pairs(count: int, activities: int, prefix: str, tag: Tag) -> list[tuple[Person, Person]]:
    bases, others = make_people(count, f"{prefix}-base"), make_people(count, f"{prefix}-dup")
    give_rows(bases, 2, tag)
    give_rows(others, activities, tag)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return list(zip(bases, others, strict=True))


def naive_merge(base: Person, other: Person) -> None:
    """The generic tool's way: every related object loaded, re-pointed and saved one by one."""
    with transaction.atomic():
        for relation in person_relations():
            for row in relation.model.objects.filter(**{relation.field: other}):
                if relation.model is PersonTag and base.person_tags.filter(tag=row.tag_id).exists():
                    continue
                setattr(row, relation.field, base)
                row.save()
        other.merged_into = base
        other.merged_at = timezone.now()
        other.save()
        base.page_views += other.page_views
        base.save()


def bare_sql_merge(base: Person, other: Person) -> None:
    """The floor: the same row moves as bare UPDATEs plus the tombstone, no journal, no history."""
    with transaction.atomic(), connection.cursor() as cursor:
        for relation in person_relations():
            table, column = relation.model._meta.db_table, relation.column
            keys = [relation.model._meta.get_field(name).attname
                    for key in relation.unique_keys for name in key.fields]
            clash = "".join(f' AND b."{key}" = t."{key}"' for key in keys)
            skip = (f' AND NOT EXISTS (SELECT 1 FROM "{table}" b WHERE b."{column}" = %s{clash})'
                    if keys else "")
            cursor.execute(
                f'UPDATE "{table}" t SET "{column}" = %s WHERE t."{column}" = %s{skip}',
                [base.pk, other.pk, base.pk] if keys else [base.pk, other.pk],
            )
        cursor.execute('UPDATE "profiles_person" SET "merged_into_id" = %s, "merged_at" = now() '
                       'WHERE "id" = %s', [base.pk, other.pk])


def timed_ms(function, *args, **kwargs) -> float:
    started = time.perf_counter()
    function(*args, **kwargs)
    return (time.perf_counter() - started) * 1000


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(samples)}


def show(label: str, stats: dict[str, float]) -> None:
    print(f"  {label:<34}" + "  ".join(f"{k} {v:8.2f} ms" for k, v in stats.items()))


def bench_small(merges: int, naive_merges: int, tag: Tag) -> None:
    print(f"\n1. Merge a 50-activity person into another ({merges} merges; naive {naive_merges})")
    fast_pairs = pairs(merges + 1, 50, "fast", tag)
    naive_pairs = pairs(naive_merges + 1, 50, "naive", tag)
    bare_pairs = iter(pairs(merges, 50, "bare", tag))
    with CaptureQueriesContext(connection) as queries:
        merge_people(base=fast_pairs[0][0], others=[fast_pairs[0][1]], reason="identify")
    naive_merge(*naive_pairs[0])  # both warmed up once
    # Interleaved (one naive merge every `step` fast ones) so both see the same machine load.
    step = max(1, merges // max(1, naive_merges))
    fast_ms, naive_ms, bare_ms, waiting = [], [], [], iter(naive_pairs[1:])
    for index, (base, other) in enumerate(fast_pairs[1:]):
        fast_ms.append(timed_ms(merge_people, base=base, others=[other], reason="identify"))
        bare_ms.append(timed_ms(bare_sql_merge, *next(bare_pairs)))
        if index % step == 0 and (pair := next(waiting, None)) is not None:
            naive_ms.append(timed_ms(naive_merge, *pair))
    fast, naive, bare = percentiles(fast_ms), percentiles(naive_ms), percentiles(bare_ms)
    halves = statistics.median(fast_ms[: merges // 2]), statistics.median(fast_ms[merges // 2:])
    print(f"  merge_people p50 first half {halves[0]:.2f} ms, second half {halves[1]:.2f} ms")
    show("merge_people", fast)
    show("naive per-object save() loop", naive)
    show("floor: bare UPDATEs, no journal", bare)
    print(f"  queries per merge_people: {len(queries.captured_queries)}")
    print(f"  ratio naive/merge_people: p50 {naive['p50'] / fast['p50']:.1f}x, "
          f"p95 {naive['p95'] / fast['p95']:.1f}x")
    verdict = "MET" if fast["p95"] <= 9 else "MISSED"
    print(f"  target p95 <= 9 ms: {verdict} ({fast['p95']:.2f} ms); "
          f"merge/floor p50 {fast['p50'] / bare['p50']:.2f}x, p95 {fast['p95'] / bare['p95']:.2f}x")


def bench_big(big: int, naive_big: int, tag: Tag) -> None:
    print(f"\n2. Merge a person with {big:,} activities (naive loop on {naive_big:,}, scaled)")
    (base, other), = pairs(1, big, "big", tag)
    (naive_base, naive_other), = pairs(1, naive_big, "bignaive", tag)
    started = time.perf_counter()
    record = merge_people(base=base, others=[other])
    merge_s = time.perf_counter() - started
    started = time.perf_counter()
    undo_merge(record=record)
    undo_s = time.perf_counter() - started
    started = time.perf_counter()
    naive_merge(naive_base, naive_other)
    naive_s = (time.perf_counter() - started) * big / naive_big
    print(f"  merge_people: {merge_s:.2f} s   undo_merge: {undo_s:.2f} s")
    print(f"  naive per-object loop: {naive_s:.1f} s "
          f"({'measured' if naive_big == big else f'measured on {naive_big:,}, scaled'})")
    print(f"  ratio naive/merge_people: {naive_s / merge_s:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merges", type=int, default=1000)
    parser.add_argument("--naive-merges", type=int, default=100)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--naive-big", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--db-name", default="onefold_bench_merge",
                        help="database to create (another name lets two runs share a server)")
    args = parser.parse_args()
    connection.settings_dict["TEST"]["NAME"] = args.db_name
    if connection.vendor != "postgresql":
        raise SystemExit("The merge benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Machine: {os.cpu_count()} CPUs, load average {load} (other work on the machine "
          "inflates the figures)")
    print(f"Creating database {args.db_name} (migrations)…", flush=True)
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        tag = Tag.objects.create(name="bench")
        bench_small(args.merges, args.naive_merges, tag)
        bench_big(args.big, args.naive_big, tag)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"\nLoad average at the end: {load}")
    finally:
        if not args.keep:
            teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
