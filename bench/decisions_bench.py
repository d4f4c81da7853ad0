"""What "who merges" costs the dedup at scale: kept-apart marks and typed-email trust, next to the
code without them, in the same run on the same data (PostgreSQL).

Usage:

    .venv/bin/python bench/decisions_bench.py [--people 1000000] [--marked 0.05] [--typed 0.05]
                                              [--rounds 3] [--full-run] [--rebuild] [--drop]

Data: the reference set of docs/rules.md, Scale (profiles.demo.reference: 10% of people in
duplicate email groups of 2–5, a few with two user IDs), without activities (the decisions read
people, identities and marks only; activities would only make the full run longer and the share
of the decisions smaller). Built once into `onefold_bench_decisions_seed_<N>`, copied fresh for
each measured run. On the copy, `--marked` of the duplicate groups get a "not the same person"
mark between their first two members and `--typed` of the people in groups get their email
identity's trust set to `typed`.

Printed, in one run:
1. per chunk, read + decide, over every chunk, `--rounds` times alternating:
   baseline (the chunk's people read without trust, each group split as before: conflict or
   base + others) vs now (`group_members` with `email_trust`, `decide_groups`: one query for
   the marks); the difference in seconds and as a share;
2. with `--full-run`: `run_dedup` (real, set-based) on a fresh copy without marks or typed
   emails (so both sides merge the same people) with the baseline's decisions patched in, then
   on another fresh copy with today's, and the difference.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/onefold_dev")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
os.environ["DJANGO_DEBUG"] = "false"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from bench.dedup_bench import admin_sql, use_database  # noqa: E402
from bench.dedup_bench import build_seed as build_dedup_seed  # noqa: E402
from dedup.services import chunks as chunk_module  # noqa: E402
from dedup.services import groups as g  # noqa: E402
from dedup.services import run_dedup  # noqa: E402
from dedup.services.detection import (  # noqa: E402
    duplicate_emails,
    group_members,
    live_with_email,
    plan_chunks,
)

SEED_DB = "onefold_bench_decisions_seed_{people}"
RUN_DB = "onefold_bench_decisions_run"


def build_seed(people: int, rebuild: bool) -> str:
    """The reference set without activities (decisions read people and identities only)."""
    return build_dedup_seed(people, rebuild, name_template=SEED_DB, activities_per_person=0)


def fresh_copy(seed: str, *, marked: float, typed: float) -> None:
    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{RUN_DB}"')
    admin_sql(f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{seed}"')
    use_database(RUN_DB)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # A mark between the two lowest ids of `marked` of the duplicate groups.
        cursor.execute("""
            CREATE TEMP TABLE bench_pairs AS
            SELECT a, (SELECT min(id) FROM profiles_person q
                       WHERE q.email_normalized = g.email_normalized
                         AND q.merged_into_id IS NULL AND q.id > g.a) AS b,
                   row_number() OVER () AS n
            FROM (SELECT email_normalized, min(id) AS a FROM profiles_person
                  WHERE merged_into_id IS NULL AND email_normalized <> ''
                  GROUP BY 1 HAVING count(*) > 1) g
            WHERE abs(hashtext(email_normalized)) %% 10000 < %s
        """, [int(marked * 10_000)])
        cursor.execute("""
            WITH marks AS (
                INSERT INTO dedup_keptapart (reason, created_at, removal_reason)
                SELECT 'bench ' || n, now(), '' FROM bench_pairs RETURNING id, reason)
            INSERT INTO dedup_keptapartend (mark_id, person_id, original_person_id)
            SELECT m.id, x.pk, x.pk FROM marks m
            JOIN bench_pairs p ON m.reason = 'bench ' || p.n
            CROSS JOIN LATERAL (VALUES (p.a), (p.b)) AS x(pk)
        """)
        cursor.execute("SELECT count(*) FROM bench_pairs")
        (marks,) = cursor.fetchone()
        cursor.execute("""
            UPDATE profiles_identity i SET trust = 'typed' FROM profiles_person p
            WHERE i.person_id = p.id AND i.kind = 'email' AND i.value = p.email_normalized
              AND p.email_normalized IN (SELECT email_normalized FROM profiles_person
                  WHERE merged_into_id IS NULL AND email_normalized <> ''
                  GROUP BY 1 HAVING count(*) > 1)
              AND abs(hashtext(p.id::text)) %% 10000 < %s
        """, [int(typed * 10_000)])
        typed_rows = cursor.rowcount
        cursor.execute("VACUUM ANALYZE")
    print(f"fresh copy: {marks:,} marks, {typed_rows:,} typed emails")


# --- The two ways of deciding ------------------------------------------------------------------


def baseline_members(*, first: str, last: str, lock: bool):
    """group_members as it was: the chunk's people without their email's trust."""
    emails = duplicate_emails(first=first, last=last).values("email_normalized")
    people = live_with_email().filter(email_normalized__gte=first, email_normalized__lte=last,
                                      email_normalized__in=emails)
    if lock:
        people = people.select_for_update().order_by("id")
    groups: dict = {}
    for person in people.order_by("id"):
        groups.setdefault(person.email_normalized, []).append(person)
    return [(email, groups[email]) for email in sorted(groups) if len(groups[email]) > 1]


def baseline_decide(*, run, groups) -> g.Decided:
    """What decided a chunk before: each group a conflict, or base + others."""
    decided = g.Decided()
    for email, people in groups:
        if len({p.user_id for p in people if p.user_id}) > 1:
            decided.conflicts.append(g.conflict_row(run, email, people))
        else:
            decided.mergeable.append((email, people))
    return decided


def read_and_decide(plans, *, now: bool) -> float:
    from dedup.models import DedupRun

    run = DedupRun(pk=0)
    started = time.perf_counter()
    with transaction.atomic():
        for plan in plans:
            if now:
                groups = list(group_members(first=plan.first_email, last=plan.last_email,
                                            lock=True))
                g.decide_groups(run=run, groups=groups)
            else:
                groups = baseline_members(first=plan.first_email, last=plan.last_email,
                                          lock=True)
                baseline_decide(run=run, groups=groups)
        transaction.set_rollback(True)
    return time.perf_counter() - started


def full_run(*, now: bool) -> tuple[float, object]:
    saved = (chunk_module.decide_groups, chunk_module.group_members)
    if not now:
        chunk_module.decide_groups = baseline_decide
        chunk_module.group_members = baseline_members
    try:
        started = time.perf_counter()
        run = run_dedup()
        return time.perf_counter() - started, run
    finally:
        chunk_module.decide_groups, chunk_module.group_members = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--marked", type=float, default=0.05)
    parser.add_argument("--typed", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full-run", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    seed = build_seed(args.people, args.rebuild)
    fresh_copy(seed, marked=args.marked, typed=args.typed)
    found, plans = plan_chunks(chunk_groups=1000)
    print(f"{found:,} duplicate groups in {len(plans)} chunks")

    before, after = [], []
    for _ in range(args.rounds):
        before.append(read_and_decide(plans, now=False))
        after.append(read_and_decide(plans, now=True))
    best_before, best_after = min(before), min(after)
    print("read + decide every chunk (locking read, as a real run), best of "
          f"{args.rounds}:")
    print(f"  baseline (no marks, no trust): {best_before:.3f} s  "
          f"({', '.join(f'{t:.3f}' for t in before)})")
    print(f"  now (marks + typed emails):    {best_after:.3f} s  "
          f"({', '.join(f'{t:.3f}' for t in after)})")
    extra = best_after - best_before
    print(f"  cost of the decisions: {extra:+.3f} s for {found:,} groups, "
          f"{extra / max(len(plans), 1) * 1000:+.1f} ms per chunk of 1,000 groups")

    if args.full_run:
        timings = {}
        # Same work on both sides: a copy without marks or typed emails (else the baseline
        # merges the marked and typed people too, and does more work than today's code).
        print("full run_dedup on a copy without marks or typed emails (same merges both ways):")
        for now in (False, True):
            fresh_copy(seed, marked=0, typed=0)
            elapsed, run = full_run(now=now)
            label = "now" if now else "baseline"
            timings[label] = elapsed
            print(f"  run_dedup ({label}): {elapsed:.1f} s — {run.groups_merged:,} merged, "
                  f"{run.conflicts:,} conflicts, {run.kept_apart:,} split, "
                  f"{run.needs_review:,} to review")
        share = (timings["now"] - timings["baseline"]) / timings["baseline"] * 100
        print(f"  difference: {timings['now'] - timings['baseline']:+.1f} s ({share:+.1f}%)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    connections.close_all()
    if args.drop:
        admin_sql(f'DROP DATABASE IF EXISTS "{RUN_DB}"')


if __name__ == "__main__":
    main()
