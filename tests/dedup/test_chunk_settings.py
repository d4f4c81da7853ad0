"""The per-transaction settings of a bulk chunk: FK checks once per chunk, async commit.

The row-by-row foreign-key checks are skipped only while the chunk's own writes run; the mode is
back to normal afterwards, the set-based check refuses a base that is not a live person, and a
table with a trigger of its own keeps the normal checks.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from dedup.services import run_dedup
from dedup.services.bulk import foreign_keys
from dedup.services.chunks import _commit_without_waiting_for_disk
from profiles.models import Activity, MergeRecord, Person
from tests.factories import ActivityFactory, PersonFactory

pytestmark = pytest.mark.django_db


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL settings")


def test_a_bulk_run_merges_with_the_shortcut_and_leaves_normal_checks_behind(settings):
    settings.DEDUP_STRATEGY = "bulk"
    base = PersonFactory(email="ann@example.com")
    dup = PersonFactory(email="ANN@example.com")
    ActivityFactory.create_batch(3, person=dup)
    calls = []
    real = foreign_keys.check_bases_and_restore

    def spy(base_ids):
        calls.append(sorted(base_ids))
        return real(base_ids)

    foreign_keys.check_bases_and_restore = spy
    try:
        run = run_dedup()
    finally:
        foreign_keys.check_bases_and_restore = real
    assert run.groups_merged == 1
    winner = MergeRecord.objects.get().base_id
    assert calls == [[winner]]  # the shortcut was taken, and checked
    assert Activity.objects.filter(person_id=winner).exclude(kind="merged").count() == 3
    assert {base.pk, dup.pk} == {winner, *MergeRecord.objects.get().merged_ids}
    assert setting("session_replication_role") == "origin"


def test_the_set_based_check_refuses_a_tombstone_base_and_restores_the_mode():
    live = PersonFactory()
    tombstone = PersonFactory(merged_into=live)
    with transaction.atomic():
        assert foreign_keys.skip_row_checks(run_id=_run_id(), actor_id=None)
        assert setting("session_replication_role") == "replica"
        with pytest.raises(IntegrityError):
            foreign_keys.check_bases_and_restore([live.pk, tombstone.pk])
        assert setting("session_replication_role") == "origin"
    foreign_keys.check_bases_and_restore([live.pk])  # live bases pass


def test_the_row_check_would_have_caught_what_the_set_based_one_catches():
    """Sanity of the premise: with normal checks, a row pointing at no person is refused."""
    person = PersonFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.filter(pk=ActivityFactory(person=person).pk).update(person_id=10**12)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_table_with_its_own_trigger_keeps_the_normal_checks():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION dedup_test_noop() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RETURN NEW; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER dedup_test_noop BEFORE UPDATE ON profiles_activity "
                "FOR EACH ROW EXECUTE FUNCTION dedup_test_noop()"
            )
        assert not foreign_keys.skip_row_checks(run_id=_run_id(), actor_id=None)
        assert setting("session_replication_role") == "origin"
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_chunk_commits_are_asynchronous_only_inside_the_chunk():
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        assert setting("synchronous_commit") == "off"
    assert setting("synchronous_commit") == "on"


def _run_id() -> int:
    from dedup.models import DedupRun

    return DedupRun.objects.create().pk


def test_people_are_unchanged_by_a_refused_check():
    """A failed set-based check inside the bulk savepoint leaves nothing behind."""
    person = PersonFactory()
    before = Person.objects.count()
    with transaction.atomic():
        try:
            with transaction.atomic():
                foreign_keys.skip_row_checks(run_id=_run_id(), actor_id=None)
                PersonFactory()
                foreign_keys.check_bases_and_restore([10**12])
        except IntegrityError:
            pass
        assert Person.objects.count() == before
        assert setting("session_replication_role") == "origin"
    assert Person.objects.filter(pk=person.pk).exists()
