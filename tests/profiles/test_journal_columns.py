"""The merge journal's large columns are text JSON on PostgreSQL (TextJSONField, migration
0012): stored as `json`, still lz4-compressed, written by the hot path one array per column,
and read back as the ORM writes them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from profiles.models import MergeRecord
from profiles.services.inserts import insert_sql, stored_fields
from profiles.services.sql import prepared_cursor
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="PostgreSQL column types")

JOURNAL = ("snapshot", "moved", "decisions")


@postgres_only
def test_the_journal_columns_are_json_compressed_with_lz4():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attcompression FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attname = ANY(%s)",
            [MergeRecord._meta.db_table, list(JOURNAL)])
        found = {name: (kind, compression) for name, kind, compression in cursor.fetchall()}
    assert {name: kind for name, (kind, _) in found.items()} == dict.fromkeys(JOURNAL, "json")
    lz4 = {name: compression for name, (_, compression) in found.items()}
    assert set(lz4.values()) <= {"l", ""}  # "" only on a server built without lz4


def test_the_bulk_insert_reads_back_as_the_orm_writes():
    base = PersonFactory()
    values = {
        "merged_ids": [7, 8], "reason": "dedup",
        "created_at": dt.datetime(2026, 12, 1, 9, 54, 36, 120000, tzinfo=dt.UTC),
        "snapshot": {str(base.pk): {"name": "Zoë « ✓ » \"q\" \\", "at": "2026-12-01T09:54:36+00:00",
                                    "attributes": {"k": [1, 2.5, True, None, {}]}}},
        "moved": {"origins": {"7": [7]}, "counts": {}, "parked": {}, "rows": {}},
        "decisions": {"name": {"rule": "kept"}, "page_views": {"rule": "sum", "winner": None,
                                                               "value": 3}},
    }
    by_orm = MergeRecord.objects.create(base=base, **values)
    fields = stored_fields(MergeRecord)
    bulk = MergeRecord(base=base, **values)
    sql, params = insert_sql(MergeRecord, fields,
                             [[getattr(bulk, f.attname) for f in fields]], returning="id")
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        (bulk_id,), = cursor.fetchall()
    stored = {r.pk: r for r in MergeRecord.objects.filter(pk__in=[by_orm.pk, bulk_id])}
    for name in (*JOURNAL, "merged_ids", "reason", "created_at", "base_id"):
        assert getattr(stored[bulk_id], name) == getattr(stored[by_orm.pk], name) == \
            values.get(name, base.pk)
