"""What the server spent on each statement of a measured part (`dedup_bench.py --statements`).

Wall-clock times of a 1M run move by ±15% from one run to the next on a shared machine, so a
change of a few percent in one statement cannot be seen in them; the server's own counters
can (`pg_stat_statements`: execution time, JIT compilation, WAL written, per statement). The
extension must be loaded by the server (`shared_preload_libraries = 'pg_stat_statements'`, a
restart); without it the bench says so and goes on. Counters are server-wide, filtered to the
measured database, and reset before each measured part.
"""

from __future__ import annotations

from django.db import connection

TOP = 8  # statements shown, by execution time


def available() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('shared_preload_libraries') LIKE"
                       " '%%pg_stat_statements%%'")
        if not cursor.fetchone()[0]:
            print("  (--statements: the server does not load pg_stat_statements; nothing to "
                  "show)")
            return False
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return True


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_statements_reset()")


def report() -> None:
    """The measured part's statements in this database: the top ones and the totals."""
    jit = ("jit_generation_time + jit_inlining_time + jit_optimization_time"
           " + jit_emission_time")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT calls, total_exec_time / 1000, ({jit}) / 1000, wal_fpi, wal_bytes / 1e9,"
            f" regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements"
            f" WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            f" ORDER BY total_exec_time DESC")
        rows = cursor.fetchall()
    total = [sum(row[index] for row in rows) for index in (1, 2, 3, 4)]
    print(f"  server, by statement (pg_stat_statements): {total[0]:.1f} s executing, "
          f"{total[1]:.2f} s of it compiling (JIT), {int(total[2]):,} full-page images, "
          f"{total[3]:.2f} GB of WAL")
    for calls, run_s, jit_s, fpi, _, query in rows[:TOP]:
        print(f"    {run_s:6.2f} s (JIT {jit_s:4.2f} s, {int(fpi):>7,} FPI, {calls:>5,}x) "
              f"{query[:70]}")
