"""Changelist pagination that never counts a million rows on every page load."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

# Above this many rows a filtered count stops and the list says "10,000+".
COUNT_CAP = 10_000


class EstimatedCountPaginator(Paginator):
    """Exact counts for small or filtered lists, the planner's estimate for a whole big table.

    Counting stops at COUNT_CAP + 1 rows, so a broad filter costs a bounded index scan; past the
    cap, PostgreSQL's table estimate (`pg_class.reltuples`, instant) sizes the page links.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        capped = queryset.order_by()[: COUNT_CAP + 1].count()
        if capped > COUNT_CAP and connection.vendor == "postgresql":
            return max(capped, _estimated_rows(queryset.model._meta.db_table))
        return capped


def _estimated_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else 0
