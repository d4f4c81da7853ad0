"""The per-transaction setting of a chunk: asynchronous commit, inside the chunk only."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from dedup.services.chunks import _commit_without_waiting_for_disk


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_chunk_commits_are_asynchronous_only_inside_the_chunk():
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        assert setting("synchronous_commit") == "off"
    assert setting("synchronous_commit") == "on"
