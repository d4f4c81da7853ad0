"""Per-transaction settings of a dedup chunk: asynchronous commit, and the foreign-key checks
of a large merge done once (replica mode only while the merge writes)."""

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


# --- Foreign-key checks once per large merge (profiles/services/merging/foreign_keys.py) ------

@pytest.fixture
def small_large(monkeypatch):
    from profiles.services.merging import merge

    monkeypatch.setattr(merge, "LARGE", 2)  # two groups make a "large" call here


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_large_merge_checks_foreign_keys_once_and_leaves_normal_checks_behind(small_large):
    from profiles.models import Activity, MergeRecord
    from profiles.services.merging import foreign_keys
    from tests.factories import ActivityFactory, PersonFactory

    for n in range(3):
        PersonFactory(email=f"ann{n}@example.com")
        ActivityFactory.create_batch(2, person=PersonFactory(email=f"ANN{n}@example.com"))
    calls, real = [], foreign_keys.check_bases_and_restore

    def spy(base_ids):
        calls.append(sorted(base_ids))
        return real(base_ids)

    foreign_keys.check_bases_and_restore = spy
    try:
        from dedup.services import run_dedup

        run = run_dedup()
    finally:
        foreign_keys.check_bases_and_restore = real
    assert run.groups_merged == 3
    assert calls == [sorted(MergeRecord.objects.values_list("base_id", flat=True))]
    assert Activity.objects.filter(kind="page_view", person__merged_into__isnull=True).count() == 6
    assert setting("session_replication_role") == "origin"


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_set_based_check_refuses_a_tombstone_base_and_restores_the_mode():
    from django.db import IntegrityError

    from profiles.services.merging import foreign_keys
    from tests.factories import PersonFactory

    live = PersonFactory()
    tombstone = PersonFactory(merged_into=live)
    with transaction.atomic():
        assert foreign_keys.skip_row_checks(actor=None, dedup_run=None)
        assert setting("session_replication_role") == "replica"
        with pytest.raises(IntegrityError):
            foreign_keys.check_bases_and_restore([live.pk, tombstone.pk])
        assert setting("session_replication_role") == "origin"
        transaction.set_rollback(True)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_table_with_its_own_trigger_keeps_the_normal_checks():
    from profiles.services.merging import foreign_keys

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE FUNCTION test_noop() RETURNS trigger LANGUAGE plpgsql "
                           "AS $$ BEGIN RETURN NEW; END $$")
            cursor.execute("CREATE TRIGGER test_noop BEFORE UPDATE ON profiles_activity "
                           "FOR EACH ROW EXECUTE FUNCTION test_noop()")
        assert not foreign_keys.skip_row_checks(actor=None, dedup_run=None)
        assert setting("session_replication_role") == "origin"
        transaction.set_rollback(True)
