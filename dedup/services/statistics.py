"""Planner statistics of the tables a dedup run reads, refreshed when missing or stale.

PostgreSQL plans a query from each table's statistics (row counts, value distributions),
gathered by ANALYZE — by autovacuum, when it runs. Where it does not (turned off, or not yet
caught up after a bulk load), the planner guesses from nothing: right after a million people
were seeded, one chunk query of the dedup ran for over 15 minutes instead of seconds. So a run
first checks `pg_stat_user_tables` and analyzes the tables it reads whose statistics are

- missing: never analyzed, by hand or by autovacuum (`last_analyze`, `last_autoanalyze`);
- stale: more rows changed since the last ANALYZE than would make autovacuum analyze it
  (`n_mod_since_analyze` > `autovacuum_analyze_threshold` +
  `autovacuum_analyze_scale_factor` × `n_live_tup`, the server's own settings).

Fresh tables are left alone, so on a server where autovacuum keeps up this costs one query.
SQLite plans without such statistics: nothing to do there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connection
from django.db.models import Model

from profiles.models import MergeRecord, Person
from profiles.services.merging import person_relations

logger = logging.getLogger(__name__)

_STALE_SQL = """
SELECT relid::regclass::text FROM pg_stat_user_tables
WHERE relid = ANY(%s::regclass[]) AND (
    (last_analyze IS NULL AND last_autoanalyze IS NULL)
    OR n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
        + current_setting('autovacuum_analyze_scale_factor')::float8 * n_live_tup
)
ORDER BY 1
"""


def tables_read_by_dedup() -> list[type[Model]]:
    """People, every table that follows them through merges (the relation registry), and
    the merge journal."""
    return [Person, *(relation.model for relation in person_relations()), MergeRecord]


def stale_tables(models: Iterable[type[Model]]) -> list[str]:
    """The tables of `models` whose planner statistics are missing or stale (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return []
    names = sorted({model._meta.db_table for model in models})
    with connection.cursor() as cursor:
        # Statistics views are read once per transaction and cached (stats_fetch_consistency):
        # start from what the server knows now.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_STALE_SQL, [names])
        return [name for (name,) in cursor.fetchall()]


def analyze(tables: Iterable[str]) -> None:
    """ANALYZE each table (a sample of its rows: seconds even for ten million rows)."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name in tables:
            cursor.execute(f"ANALYZE {quote(name)}")


def refresh_stale_statistics(models: Iterable[type[Model]] | None = None) -> list[str]:
    """Analyze the tables (default: those a dedup run reads) whose statistics are missing or
    stale; returns their names."""
    stale = stale_tables(tables_read_by_dedup() if models is None else models)
    if stale:
        logger.info("analyzing tables with missing or stale statistics: %s", ", ".join(stale))
        analyze(stale)
    return stale
