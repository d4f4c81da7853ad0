"""Planner statistics: a dedup run analyzes the tables it reads when theirs are missing or
stale, and leaves fresh ones alone (PostgreSQL; SQLite plans without them)."""

from __future__ import annotations

import pytest
from django.db import connection

from dedup.services import run_dedup
from dedup.services.statistics import (
    analyze,
    refresh_stale_statistics,
    stale_tables,
    tables_read_by_dedup,
)
from profiles.models import Activity, Identity, MergeRecord, Person, PersonTag
from tests.factories import PersonFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PEOPLE = Person._meta.db_table


def _sql(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _forget_statistics(table: str) -> None:
    """As after a bulk load with autovacuum off: the table was never analyzed."""
    _sql("SELECT pg_stat_reset_single_table_counters(%s::regclass)", [table])


def _flush_counters() -> None:
    """Row-change counters reach pg_stat_user_tables when the backend next goes idle."""
    _sql("SELECT pg_stat_force_next_flush()")


def _last_analyze(table: str):
    _sql("SELECT pg_stat_clear_snapshot()")
    [(when,)] = _sql("SELECT last_analyze FROM pg_stat_user_tables WHERE relid = %s::regclass",
                     [table])
    return when


def test_the_tables_a_run_reads_are_people_what_follows_them_and_the_journal():
    models = set(tables_read_by_dedup())
    assert {Person, Activity, Identity, PersonTag, MergeRecord} <= models


def test_a_table_never_analyzed_is_analyzed_and_then_left_alone():
    _forget_statistics(PEOPLE)
    assert PEOPLE in stale_tables([Person])

    assert PEOPLE in refresh_stale_statistics([Person])

    assert _last_analyze(PEOPLE) is not None
    assert refresh_stale_statistics([Person]) == []  # fresh now: nothing to do


def test_a_table_changed_a_lot_since_its_last_analyze_is_stale():
    analyze([PEOPLE])
    PersonFactory.create_batch(5)
    _flush_counters()
    assert stale_tables([Person]) == []  # a few rows: the planner's picture still holds

    Person.objects.bulk_create([Person(name=f"bulk {i}") for i in range(200)])
    _flush_counters()
    assert stale_tables([Person]) == [PEOPLE]  # more than autovacuum's threshold would allow


def test_run_dedup_analyzes_before_planning():
    PersonFactory(email="same@example.com")
    PersonFactory(email=" SAME@example.com")
    for model in tables_read_by_dedup():
        _forget_statistics(model._meta.db_table)

    run = run_dedup()

    assert run.groups_found == 1
    assert all(_last_analyze(model._meta.db_table) is not None
               for model in tables_read_by_dedup())
    assert stale_tables(tables_read_by_dedup()) == []
