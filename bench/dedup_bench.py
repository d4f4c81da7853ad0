"""Scheduled dedup at scale on PostgreSQL, next to a naive per-group ORM merge in the same run.

Usage:

    .venv/bin/python bench/dedup_bench.py [--people 100000] [--naive-groups 200]
                                          [--engine-groups 200] [--workers 1] [--parallel 2]
                                          [--rebuild] [--drop] [--seed-only]
                                          [--no-statistics] [--rounds 1] [--paired]
                                          [--statements]

Data: the reference set of docs/rules.md, Scale built by `seed_demo`'s bulk writer
(profiles.demo.reference: 10% of people in duplicate email groups of 2–5 with case and
whitespace variants, a few groups with two user IDs, 10 activities and ~1.5 identities per
person). It is built once into `onefold_bench_dedup_seed_<N>` and every run works on a fresh
copy of it (`CREATE DATABASE … TEMPLATE`), analyzed as the seed was, so the measured run always
starts from the same data with fresh planner statistics (what `run_dedup` analyzes first, if
anything, is printed with its time). With `--no-statistics` the full run starts without planner
statistics, as right after a bulk load on a server with autovacuum off (the copy's statistics
are erased): `run_dedup` analyzes what it reads before planning (dedup/services/statistics.py),
and the time that took is printed (it is part of the run's time).

Printed, in one run on the same data:
1. duplicate detection: the GROUP BY … HAVING query alone, and the chunk planning;
2. the full `run_dedup` (the merge engine's `merge_many` per chunk of 1,000 groups) over every
   group: time and rows moved/s. In one call it merges DEDUP_PARALLEL_CHUNKS chunks at once
   (`--parallel`, default 2: forked processes). With `--workers N` (N > 1) the bench itself
   spreads the chunks over N processes instead, as N Celery workers would take them
   (`start_run`, `process_chunk` per chunk, `finish_if_complete`);
then, each on a fresh copy of the same data (so no measurement warms or dirties another's
database):
3. the floor: the same row moves as bare SQL statements — per chunk, one transaction locking
   the groups, one `UPDATE … FROM unnest(duplicate[], base[])` per related table (a row whose
   key the base holds stays) and the tombstones, with asynchronous commit and no JIT as a
   chunk's move; no decisions, journal, history or timeline — with the same number of
   processes, and our ratio to it (target <= 1.3x);
   with `--rounds N`, 2. and 3. are measured N times, each on its own fresh copy, the rounds
   alternating which goes first, and the median round's ratio counts (one 1M run of either
   moves by ±15% on a shared machine: a single pair cannot tell a few percent apart);
   with `--paired`, the run and the floor also taking turns on one copy, batch of chunks by
   batch, then with the roles swapped on a fresh copy: each merges every chunk once, seconds
   apart from the other (run_paired);
   with `--statements`, the server's own account of 2. and 3. after each: its execution time,
   JIT compilation and WAL, in all and for the costliest statements (pg_stat_statements, when
   the server loads it: bench/server_statements.py);
4. the naive baseline: `--naive-groups` groups merged the way generic merge tools do (one
   transaction per group through the ORM, every related row moved with `save()`), timed and
   extrapolated to every group, and the ratio;
5. for information, `--engine-groups` groups through `merge_people` one by one,
   extrapolated, and the ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/onefold_dev")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
os.environ["DJANGO_DEBUG"] = "false"  # DEBUG would keep every query in memory

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from bench import server_statements  # noqa: E402
from dedup.services import run_dedup  # noqa: E402
from dedup.services.detection import duplicate_emails, live_with_email, plan_chunks  # noqa: E402
from profiles.models import (  # noqa: E402
    Activity,
    Conversation,
    Deal,
    Identity,
    MergeRecord,
    Person,
    PersonTag,
)
from profiles.services.merging import choose_base, merge_people  # noqa: E402

SEED_DB = "onefold_bench_dedup_seed_{people}"
RUN_DB = "onefold_bench_dedup_run"


def admin_sql(sql: str) -> None:
    """Run CREATE/DROP DATABASE from the maintenance database (outside any transaction)."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres", dbname="postgres", autocommit=True,
    ) as conn:
        conn.execute(sql)


def database_exists(name: str) -> bool:
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres", dbname="postgres",
    ) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() \
            is not None


def use_database(name: str) -> None:
    connections.close_all()
    connection.settings_dict["NAME"] = name


def build_seed(people: int, rebuild: bool, *, name_template: str = SEED_DB,
               activities_per_person: int = 10) -> str:
    """The reference set of `people` in its own database (built once, reused after)."""
    from profiles.demo.reference import build_reference_set

    name = name_template.format(people=people)
    if database_exists(name) and not rebuild:
        print(f"reusing seeded database {name}")
        return name
    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin_sql(f'CREATE DATABASE "{name}"')
    use_database(name)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    stats = build_reference_set(people=people, seed=42,
                                activities_per_person=activities_per_person)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"seeded {stats.people:,} people ({stats.people_in_groups:,} in "
        f"{stats.duplicate_groups:,} groups, {stats.conflict_groups:,} conflicts), "
        f"{stats.activities:,} activities, {stats.identities:,} identities in "
        f"{time.perf_counter() - started:.1f}s"
    )
    connections.close_all()
    return name


def copy_database(seed: str, name: str) -> None:
    """`name` as a new copy of `seed`, migrated, and in use from here on."""
    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
    # FILE_COPY, not PostgreSQL 15's default WAL_LOG: a WAL-logged copy of a 4 GB seed writes
    # it all to the WAL, which the server may still be checkpointing while a measurement runs
    # (runs of one day varied by ±20%).
    admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{seed}" STRATEGY FILE_COPY')
    use_database(name)
    call_command("migrate", verbosity=0)  # a seed built by older code gets the new indexes


def fresh_copy(seed: str) -> None:
    """A copy of the seed, analyzed as the seed was. (A template copy keeps the planner
    statistics but not the counters saying when they were taken, so `run_dedup` would find
    them "missing" and analyze every table it reads on every copy: what a server right after
    a bulk load pays, measured with --no-statistics, not what a run on a server that keeps its
    statistics pays.)"""
    from dedup.services.statistics import tables_read_by_dedup

    started = time.perf_counter()
    copy_database(seed, RUN_DB)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE profiles_person")
        for model in tables_read_by_dedup():
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        cursor.execute("CHECKPOINT")  # the copy's writes flushed before anything is timed
    print(f"fresh copy of the seeded data in {time.perf_counter() - started:.1f}s")


def forget_statistics() -> None:
    """The copy as right after a bulk load with autovacuum off: no planner statistics of the
    tables a run reads."""
    from dedup.services.statistics import tables_read_by_dedup

    tables = [model._meta.db_table for model in tables_read_by_dedup()]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = ANY(%s::regclass[])", [tables])
        cursor.execute("UPDATE pg_class SET reltuples = -1, relpages = 0 "
                       "WHERE oid = ANY(%s::regclass[])", [tables])
        for table in tables:  # nor when it last analyzed them
            cursor.execute("SELECT pg_stat_reset_single_table_counters(%s::regclass)", [table])
    print(f"  planner statistics erased: {', '.join(tables)}")


def report_analyze() -> None:
    """Print what run_dedup analyzes before planning, and how long it takes."""
    import dedup.services.runs as runs

    refresh = runs.refresh_stale_statistics

    def timed_refresh(*args, **kwargs):
        started = time.perf_counter()
        analyzed = refresh(*args, **kwargs)
        print(f"  run_dedup analyzed {len(analyzed)} table(s) before planning in "
              f"{time.perf_counter() - started:.1f} s: {', '.join(analyzed) or '-'}")
        return analyzed

    runs.refresh_stale_statistics = timed_refresh


def cpu_times() -> list[int] | None:
    """The machine's CPU time so far (/proc/stat: user, nice, system, idle, iowait, …), or
    None where there is no /proc."""
    try:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:8]]
    except OSError:
        return None


def cpu_use(before: list[int] | None) -> tuple[str, float | None]:
    """How the machine's cores spent a phase: when both cores are busy, what a run does beyond
    the floor costs its full CPU time, whichever process (Python or the server) spends it."""
    after = cpu_times()
    if before is None or after is None:
        return "CPU use: not available here", None
    user, nice, system, idle, iowait, irq, softirq = (a - b for a, b in zip(after, before,
                                                                           strict=True))
    total = max(user + nice + system + idle + iowait + irq + softirq, 1)
    busy = user + nice + system + irq + softirq
    hz = os.sysconf("SC_CLK_TCK")
    return (f"CPU busy {busy / total:.0%} ({busy / hz:.1f} CPU-s: user {(user + nice) / total:.0%}"
            f", system {(system + irq + softirq) / total:.0%}; idle {idle / total:.0%}, "
            f"I/O wait {iowait / total:.0%})"), busy / hz


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(label: str, func):
    started = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - started
    print(f"  {label}: {elapsed:.3f} s")
    return result, elapsed


def sample_groups(count: int, offset: int) -> list[list[Person]]:
    """`count` mergeable groups (no user ID conflict), read by the ORM, from email order."""
    groups = []
    emails = duplicate_emails().values_list("email_normalized", flat=True)
    for email in emails[offset: offset + count * 2].iterator():
        people = list(live_with_email().filter(email_normalized=email).order_by("id"))
        if len({p.user_id for p in people if p.user_id}) <= 1:
            groups.append(people)
        if len(groups) == count:
            break
    return groups


NAIVE_RELATED = (Activity, Identity, PersonTag, Conversation, Deal)


def naive_merge(people: list[Person]) -> int:
    """What generic merge tools do: one transaction, every row moved with save()."""
    moved = 0
    with transaction.atomic():
        base = choose_base(people)
        others = [p for p in people if p.pk != base.pk]
        for other in others:
            for model in NAIVE_RELATED:
                for row in model.objects.filter(person=other):
                    if model is PersonTag and PersonTag.objects.filter(
                            person=base, tag_id=row.tag_id).exists():
                        continue
                    if model is Identity and Identity.objects.filter(
                            person=base, kind=row.kind, value=row.value).exists():
                        continue
                    row.person = base
                    row.save()
                    moved += 1
            for field in ("name", "phone", "company", "city", "country", "os", "browser"):
                if not getattr(base, field) and getattr(other, field):
                    setattr(base, field, getattr(other, field))
            base.page_views += other.page_views
            base.visits += other.visits
            other.merged_into = base
            other.save()
        base.save()
        MergeRecord.objects.create(base=base, merged_ids=[o.pk for o in others], reason="dedup")
    return moved


def floor_chunk(bounds: tuple[str, str]) -> int:
    """The floor for one chunk: its row moves as bare statements, in one transaction. Rows of
    tables with a per-person unique rule move position by position in rule order (a row whose
    key the base holds by then stays), as the engine decides; the others in one statement."""
    from dedup.services.detection import group_members
    from profiles.services.merging import person_relations, rank_key
    from profiles.services.sql import execute

    moved = 0
    try:
        with transaction.atomic():
            pairs: dict[int, list[tuple[int, int]]] = {}  # position -> (duplicate, base)
            for _, people in group_members(first=bounds[0], last=bounds[1], lock=True):
                if len({p.user_id for p in people if p.user_id}) > 1:
                    continue
                base, *others = sorted(people, key=rank_key)
                for position, person in enumerate(others, 1):
                    pairs.setdefault(position, []).append((person.pk, base.pk))
            everyone = [pair for position in sorted(pairs) for pair in pairs[position]]
            execute("SET LOCAL synchronous_commit = off", [])  # as the dedup's chunks commit
            execute("SET LOCAL jit = off", [])  # as the engine moves rows (moves_sql.JIT_OFF)
            for relation in person_relations():
                table, column = relation.model._meta.db_table, relation.column
                keys = [relation.model._meta.get_field(name).column
                        for key in relation.unique_keys for name in key.fields]
                clash = "".join(f' AND b."{key}" = t."{key}"' for key in keys)
                skip = (f' AND NOT EXISTS (SELECT 1 FROM "{table}" b'
                        f' WHERE b."{column}" = m.base{clash})' if keys else "")
                for batch in ([pairs[p] for p in sorted(pairs)] if keys else [everyone]):
                    moved += execute(
                        f'WITH u AS (UPDATE "{table}" t SET "{column}" = m.base FROM'
                        f' unnest(%s::bigint[], %s::bigint[]) AS m(dup, base)'
                        f' WHERE t."{column}" = m.dup{skip} RETURNING 1) SELECT count(*) FROM u',
                        [[d for d, _ in batch], [b for _, b in batch]])[0][0]
            execute('UPDATE "profiles_person" p SET "merged_into_id" = m.base, "merged_at" ='
                    ' now() FROM unnest(%s::bigint[], %s::bigint[]) AS m(dup, base)'
                    ' WHERE p.id = m.dup', [[d for d, _ in everyone], [b for _, b in everyone]])
    finally:
        connection.close()
    return moved


def run_floor(parallel: int) -> int:
    """Every chunk's floor, `parallel` chunks at once (forked processes, as run_dedup does)."""
    _, plans = plan_chunks(chunk_groups=1000)
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(max(parallel, 1)) as pool:
        return sum(pool.map(floor_chunk, [(p.first_email, p.last_email) for p in plans],
                            chunksize=1))


def flush_writes() -> None:
    """CHECKPOINT: every page written so far goes to disk now. Without it, a batch leaves its
    dirty pages (and WAL towards the next checkpoint) for the next batch to write out, and the
    run, which writes more, would hand part of its cost to the floor."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    finally:
        connection.close()  # the parent keeps no connection across the pool's work


def run_paired(seed: str, processes: int) -> tuple[float, float, list[float]]:
    """The run and the floor taking turns on one copy: its chunks in batches of `processes`,
    the batches given to the run and the floor in turn, each batch followed by a CHECKPOINT
    counted in its time; then, on a fresh copy, the same with the roles swapped. So each side
    merges every chunk once, on the same data, with the same caches, seconds apart: minutes
    apart, a shared machine can run 40% slower. Returns (run seconds, floor seconds, each
    round's ratio); each side's time includes its planning."""
    from dedup.services import create_run, start_run
    from dedup.services.runs import _chunk_alone

    spent = {"run": 0.0, "floor": 0.0}
    ratios = []
    for round_ in range(2):
        fresh_copy(seed)
        before = dict(spent)
        started = time.perf_counter()
        run = create_run(trigger="shell")
        chunk_ids = start_run(run_id=run.pk)
        spent["run"] += time.perf_counter() - started
        started = time.perf_counter()
        plan_chunks(chunk_groups=1000)  # what run_floor pays before its chunks
        spent["floor"] += time.perf_counter() - started
        bounds = list(run.chunks.order_by("index").values_list("first_email", "last_email"))
        connections.close_all()  # the pool's processes open their own
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for batch, first in enumerate(range(0, len(chunk_ids), processes)):
                side = ("run", "floor")[(batch + round_) % 2]
                function, items = ((_chunk_alone, chunk_ids) if side == "run"
                                   else (floor_chunk, bounds))
                started = time.perf_counter()
                pool.map(function, items[first:first + processes], chunksize=1)
                flush_writes()  # each side pays for writing out its own pages, not the next
                spent[side] += time.perf_counter() - started
        ratios.append((spent["run"] - before["run"]) / (spent["floor"] - before["floor"]))
        print(f"  round {round_ + 1}: the run took the {'even' if round_ == 0 else 'odd'} "
              f"batches of {processes} chunks ({spent['run'] - before['run']:.2f} s), the floor "
              f"the others ({spent['floor'] - before['floor']:.2f} s)")
    return spent["run"], spent["floor"], ratios


def _chunk_in_worker(chunk_id: int) -> None:
    from dedup.services.chunks import process_chunk

    process_chunk(chunk_id=chunk_id)


def run_with_workers(workers: int):
    """The Celery shape without a broker: claim + plan, chunks on N processes, finish."""
    from dedup.services import create_run, finish_if_complete, start_run

    run = create_run(trigger="shell")
    chunk_ids = start_run(run_id=run.pk)
    connections.close_all()  # each forked worker opens its own connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_chunk_in_worker, chunk_ids, chunksize=1)
    finish_if_complete(run_id=run.pk)
    run.refresh_from_db()
    return run


def measure_run(args: argparse.Namespace, shape: str):  # noqa: ANN201 (DedupRun, s, CPU-s)
    """The full run_dedup over every group of the current copy, timed and printed."""
    print(f"\n2. run_dedup (set-based chunks of 1,000 groups), every group, {shape}")
    if args.no_statistics:
        forget_statistics()
    statements = args.statements and server_statements.available()
    if statements:
        server_statements.reset()
    started, cpu = time.perf_counter(), cpu_times()
    run = run_dedup(trigger="shell") if args.workers == 1 else run_with_workers(args.workers)
    full_s = time.perf_counter() - started
    used, run_cpu = cpu_use(cpu)
    per_group = full_s / max(run.groups_found, 1)
    print(f"  status {run.status}: {run.groups_found:,} groups found, {run.groups_merged:,} "
          f"merged, {run.people_merged:,} people merged, {run.conflicts:,} conflicts, "
          f"{run.chunks_total} chunks")
    print(f"  full run: {full_s:.2f} s ({per_group * 1000:.2f} ms/group), "
          f"{run.rows_moved:,} rows moved = {run.rows_moved / full_s:,.0f} rows/s")
    print(f"  machine during the run: {used}; load average after it: {load_average()}")
    if statements:
        server_statements.report()
    return run, full_s, run_cpu


def measure_floor(processes: int, statements: bool = False) -> tuple[float, float | None]:
    """The floor over every chunk of the current copy, timed and printed."""
    statements = statements and server_statements.available()
    if statements:
        server_statements.reset()
    print(f"\n3. Floor: the same row moves as bare SQL, no journal/history, {processes} "
          f"process(es)")
    started, cpu = time.perf_counter(), cpu_times()
    floor_rows = run_floor(processes)
    floor_s = time.perf_counter() - started
    used, floor_cpu = cpu_use(cpu)
    print(f"  {floor_rows:,} rows moved in {floor_s:.2f} s; machine during the floor: "
          f"{used}; load average {load_average()}")
    if statements:
        server_statements.report()
    return floor_s, floor_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--naive-groups", type=int, default=200)
    parser.add_argument("--engine-groups", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the chunks (default 1: run_dedup in-process)")
    parser.add_argument("--parallel", type=int, default=None,
                        help="DEDUP_PARALLEL_CHUNKS for run_dedup (default: the setting, 2)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the seeded database")
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    parser.add_argument("--seed-only", action="store_true",
                        help="build (or keep) the seeded database and stop")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternating rounds of run and floor, each on its own fresh copy; "
                             "the median ratio counts (default 1)")
    parser.add_argument("--paired", action="store_true",
                        help="also let run and floor take turns, batch by batch, on one copy")
    parser.add_argument("--statements", action="store_true",
                        help="print the server's time per statement of the run and the floor "
                             "(needs pg_stat_statements loaded: bench/server_statements.py)")
    parser.add_argument("--no-statistics", action="store_true",
                        help="start run_dedup without planner statistics (no prior ANALYZE)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("The dedup benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")

    if args.parallel is not None:
        os.environ["DEDUP_PARALLEL_CHUNKS"] = str(args.parallel)
    seed = build_seed(args.people, args.rebuild)
    if args.seed_only:
        return
    fresh_copy(seed)
    live = live_with_email().count()
    print(f"\nData: {Person.objects.count():,} people ({live:,} live with an email), "
          f"{Activity.objects.count():,} activities, {Identity.objects.count():,} identities")

    print("\n1. Duplicate detection")
    groups, detect_s = timed("GROUP BY email_normalized HAVING count(*) > 1",
                             lambda: len(list(duplicate_emails().values_list(
                                 "email_normalized", flat=True))))
    timed("chunk planning (detection + ranges of 1,000 groups)",
          lambda: plan_chunks(chunk_groups=1000))
    print(f"  {groups:,} duplicate groups")

    from dedup.services import conf

    shape = (f"{args.workers} worker processes" if args.workers > 1
             else f"one call, {conf.get('DEDUP_PARALLEL_CHUNKS')} chunk(s) at once")
    processes = args.workers if args.workers > 1 else int(conf.get("DEDUP_PARALLEL_CHUNKS"))
    report_analyze()  # what each run analyzes first, and how long that takes (part of its time)
    ratios = []
    for round_ in range(args.rounds):
        # Rounds alternate which goes first (run, floor / floor, run), so a machine getting
        # busier or quieter during the bench weighs on both alike.
        order = ("run", "floor") if round_ % 2 == 0 else ("floor", "run")
        if args.rounds > 1:
            print(f"\n== Round {round_ + 1} of {args.rounds}: {order[0]}, then {order[1]} ==")
        for part in order:
            if part == "run":
                if round_ or order[0] == "floor":
                    print("\n   (a fresh copy of the same data for the run)")
                    fresh_copy(seed)
                run, full_s, run_cpu = measure_run(args, shape)
            else:
                print("\n   (a fresh copy of the same data for the floor)")
                fresh_copy(seed)
                floor_s, floor_cpu = measure_floor(processes, args.statements)
        ratios.append((full_s, floor_s))
        cpu_ratio = f"; CPU-s {run_cpu / floor_cpu:.2f}x" if run_cpu and floor_cpu else ""
        print(f"  round {round_ + 1}: run_dedup {full_s:.2f} s, floor {floor_s:.2f} s -> ratio "
              f"{full_s / floor_s:.2f}x (target <= 1.3x){cpu_ratio}")
    full_s, floor_s = sorted(ratios, key=lambda pair: pair[0] / pair[1])[len(ratios) // 2]
    per_group = full_s / max(run.groups_found, 1)
    if args.rounds > 1:
        median = statistics.median(f / b for f, b in ratios)
        print(f"\nRounds: {', '.join(f'{f / b:.2f}x' for f, b in ratios)}; median ratio "
              f"{median:.2f}x (the summary below: the round at or above it, run_dedup "
              f"{full_s:.2f} s, floor {floor_s:.2f} s); run_dedup median "
              f"{statistics.median(f for f, _ in ratios):.2f} s (target <= 45 s)")
    if args.paired:
        print(f"\n2+3. Taking turns: batches of {processes} chunk(s) for the run and the floor "
              f"in turn on one copy, then the roles swapped on a fresh one")
        paired_run, paired_floor, round_ratios = run_paired(seed, processes)
        print(f"  every chunk once each: run {paired_run:.2f} s, floor {paired_floor:.2f} s -> "
              f"ratio {paired_run / paired_floor:.2f}x (target <= 1.3x); the two rounds' "
              f"halves: {', '.join(f'{r:.2f}x' for r in round_ratios)}")
    if not args.naive_groups:
        print(f"\n  people: {args.people:,}; detection {detect_s:.3f} s; run_dedup {full_s:.1f} s; "
              f"floor {floor_s:.1f} s ({full_s / floor_s:.2f}x); load average {load_average()} "
              f"(no naive baseline: --naive-groups 0)")
        return
    print("\n   (a fresh copy of the same data for the baselines)")
    fresh_copy(seed)
    print(f"\n4. Naive baseline: {args.naive_groups} groups, one ORM transaction each, save() "
          f"per row")
    sample = sample_groups(args.naive_groups, offset=0)
    started = time.perf_counter()
    naive_rows = sum(naive_merge(people) for people in sample)
    naive_s = time.perf_counter() - started
    naive_per_group = naive_s / max(len(sample), 1)
    print(f"  {len(sample)} groups, {naive_rows:,} rows in {naive_s:.2f} s = "
          f"{naive_per_group * 1000:.1f} ms/group -> {naive_per_group * groups:.1f} s "
          f"extrapolated to {groups:,} groups")

    engine_per_group = None
    if args.engine_groups:
        print(f"\n5. merge_people group by group, "
              f"{args.engine_groups} groups")
        engine_sample = sample_groups(args.engine_groups, offset=args.naive_groups * 2)
        started = time.perf_counter()
        for people in engine_sample:
            base = choose_base(people)
            merge_people(base=base, others=[p for p in people if p.pk != base.pk],
                         reason="dedup")
        engine_s = time.perf_counter() - started
        engine_per_group = engine_s / max(len(engine_sample), 1)
        print(f"  {engine_per_group * 1000:.1f} ms/group -> {engine_per_group * groups:.1f} s "
              f"extrapolated to {groups:,} groups")

    print("\nSummary (same data, same run)")
    print(f"  people: {args.people:,}; duplicate groups: {groups:,}")
    print(f"  detection: {detect_s:.3f} s")
    print(f"  run_dedup, all groups: {full_s:.1f} s, {run.rows_moved / full_s:,.0f} rows moved/s")
    print(f"  floor (bare row moves): {floor_s:.1f} s -> ours / floor {full_s / floor_s:.2f}x")
    print(f"  naive ORM loop, extrapolated: {naive_per_group * groups:.1f} s "
          f"-> ratio {naive_per_group / per_group:.1f}x")
    if engine_per_group:
        print(f"  merge_people per group, extrapolated: {engine_per_group * groups:.1f} s "
              f"-> ratio {engine_per_group / per_group:.1f}x")
    print(f"  load average at the end: {load_average()}")
    if args.drop:
        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{RUN_DB}"')
        admin_sql(f'DROP DATABASE IF EXISTS "{seed}"')


if __name__ == "__main__":
    main()
