"""merge_many, the engine's one face: 1..N groups, refusals per group, retries, invariants,
and a preview that says which rows stay (parked) as the journal will."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from profiles.models import MergeRecord, Person
from profiles.services import merge_preview, undo_merge
from profiles.services.merging import (
    MergeRefused,
    conservation_problems,
    invariant_problems,
    merge_many,
    moves_sql,
    rows_by_relation,
)
from tests.factories import (
    ActivityFactory,
    AnonymousPersonFactory,
    PersonFactory,
    PersonTagFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def group(*, others: int = 1, **base_fields) -> tuple[Person, list[Person]]:
    base = PersonFactory(**base_fields)
    rest = [AnonymousPersonFactory() for _ in range(others)]
    for person in rest:
        ActivityFactory.create_batch(2, person=person)
    return base, rest


@pytest.mark.parametrize("others", [1, 2])  # one other: the move rides with the lock
def test_a_refused_group_does_not_stop_the_others(others):
    ok_first, ok_last = group(others=others), group(others=others)
    clash_base = PersonFactory(user_id="u-clash-1")
    clash = (clash_base, [PersonFactory(user_id="u-clash-2")])
    before = rows_by_relation()

    outcomes = merge_many([ok_first, clash, ok_last])

    assert [type(o) for o in outcomes] == [MergeRecord, MergeRefused, MergeRecord]
    assert outcomes[1].code == "different_user_ids"
    assert Person.objects.filter(merged_into=clash_base).count() == 0
    assert Person.objects.filter(merged_into__isnull=False).count() == 2 * others
    assert conservation_problems(before) == [] and invariant_problems() == []


def test_each_group_gets_its_own_journal_entry_and_undoes_alone():
    first, second = group(), group()

    records = merge_many([first, second], reason="dedup")

    assert [r.base_id for r in records] == [first[0].pk, second[0].pk]
    assert len({r.pk for r in records}) == 2
    undo_merge(record=records[0])
    assert Person.objects.get(pk=first[1][0].pk).merged_into_id is None
    assert Person.objects.get(pk=second[1][0].pk).merged_into_id == second[0].pk


def test_a_person_in_two_groups_is_refused_in_the_later_group():
    base, (other,) = group()

    outcomes = merge_many([(base, [other]), (PersonFactory(), [other])])

    assert isinstance(outcomes[0], MergeRecord)
    assert isinstance(outcomes[1], MergeRefused)


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_is_retried_when_the_merge_owns_its_transaction(monkeypatch):
    from profiles.services.merging import merge as engine

    real, calls = engine._run_once, []

    class Deadlock(Exception):
        sqlstate = "40P01"

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from Deadlock()
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_run_once", flaky)
    base, others = group()

    (record,) = merge_many([(base, others)])

    assert isinstance(record, MergeRecord) and len(calls) == 2


def test_invariants_name_a_live_person_a_standing_merge_says_was_merged():
    base, (other,) = group()
    merge_many([(base, [other])])
    Person.objects.filter(pk=other.pk).update(merged_into=None, merged_at=None)

    problems = invariant_problems()

    assert any(str(other.pk) in p and "standing merge journal" in p for p in problems)


def test_the_preview_says_which_rows_stay_and_does_not_count_them_as_moving():
    shared, own = TagFactory(name="vip"), TagFactory(name="new")
    base, (other,) = group()
    PersonTagFactory(person=base, tag=shared)
    PersonTagFactory(person=other, tag=shared)  # the base holds it: parked
    PersonTagFactory(person=other, tag=own)

    preview = merge_preview(base=base, others=[other])
    (record,) = merge_many([(base, [other])])

    label = str(type(base).tags.through._meta.verbose_name_plural)
    assert preview.moves[label] == 1
    assert "parked" in preview.parked[label]
    assert len(record.moved["parked"]["profiles.persontag"]) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's JIT setting")
@pytest.mark.parametrize("others", [1, 2])  # one other: the move rides with the lock
@pytest.mark.parametrize("before", ["on", "off"])
def test_a_move_of_many_groups_runs_without_jit_and_the_callers_setting_comes_back(
        others, before, monkeypatch):
    monkeypatch.setattr(moves_sql, "NO_JIT_FROM", 2)  # as for a dedup chunk's ~1,000 groups
    groups = [group(others=others), group(others=others)]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', %s, true)", [before])
        with CaptureQueriesContext(connection) as queries:
            merge_many(groups)
        sent = [query["sql"] for query in queries.captured_queries]
        move = next(i for i, sql in enumerate(sent) if sql.startswith("WITH m AS"))
        assert sent[move - 1:move + 2:2] == [moves_sql.JIT_OFF, moves_sql.JIT_BACK]
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('jit')")
            assert cursor.fetchone()[0] == before
    assert Person.objects.filter(merged_into__in=[base for base, _ in groups]).count() == \
        2 * others


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's JIT setting")
def test_a_single_merge_sends_no_jit_setting():
    base, rest = group(others=1)
    with CaptureQueriesContext(connection) as queries:
        merge_many([(base, rest)])
    sent = [query["sql"] for query in queries.captured_queries]
    assert moves_sql.JIT_OFF not in sent and moves_sql.JIT_BACK not in sent
