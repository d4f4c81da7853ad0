"""The dedup goes through the merge engine, one `merge_many` per chunk: a unique clash raised
by the database inside the set-based writer falls back group by group, and the run ends with
every group merged or reported."""

from __future__ import annotations

import pytest
from django.db import connection

from dedup.services import report_entries, run_dedup
from profiles.models import MergeRecord, Person
from profiles.services.merging import (
    MergeRefused,
    choose_base,
    conservation_problems,
    merge_many,
    rows_by_relation,
)
from tests.factories import ActivityFactory, PersonFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def pairs(count: int) -> list[tuple[Person, list[Person]]]:
    groups = []
    for n in range(count):
        people = [PersonFactory(email=f"{e}{n}@example.com") for e in "pP"]
        ActivityFactory.create_batch(2, person=people[1])
        base = choose_base(people)
        groups.append((base, [p for p in people if p.pk != base.pk]))
    return groups


def refuse_journal_of(base: Person) -> None:
    """A database-side unique violation for one group's journal row (as a row written without
    the person lock would raise), seen by the set-based writer as by the per-group one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_clash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.base_id = {int(base.pk)} THEN RAISE EXCEPTION 'clash' "
            "USING ERRCODE = 'unique_violation'; END IF; RETURN NEW; END $$"
        )
        cursor.execute("CREATE TRIGGER test_clash BEFORE INSERT ON profiles_mergerecord "
                       "FOR EACH ROW EXECUTE FUNCTION test_clash()")


def test_merge_many_falls_back_group_by_group_and_reports_the_bad_group():
    groups = pairs(3)
    refuse_journal_of(groups[1][0])
    before = rows_by_relation()

    outcomes = merge_many(groups, reason="dedup")

    assert isinstance(outcomes[0], MergeRecord) and isinstance(outcomes[2], MergeRecord)
    assert isinstance(outcomes[1], MergeRefused) and outcomes[1].code == "conflict"
    assert Person.objects.get(pk=groups[1][1][0].pk).merged_into_id is None  # untouched
    assert conservation_problems(before) == []


def test_one_bad_group_never_fails_the_run(settings):
    settings.DEDUP_CHUNK_GROUPS = 10
    groups = pairs(3)
    refuse_journal_of(groups[0][0])

    run = run_dedup()

    assert (run.status, run.groups_found, run.groups_merged) == ("succeeded", 3, 2)
    outcomes = {entry["base"]: entry["outcome"] for entry in report_entries(run)}
    assert outcomes == {groups[0][0].pk: "refused", groups[1][0].pk: "merged",
                        groups[2][0].pk: "merged"}


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_group_failing_with_an_unexpected_error_is_reported_and_the_rest_merge(
    settings, monkeypatch, dry_run
):
    """Not a database refusal: a bug or a value nothing expected (here an AttributeError while
    planning one group). The run still ends, the group is reported with the error, the others
    merge (or would), and nothing of the bad group is written."""
    from profiles.services.merging import planning

    settings.DEDUP_CHUNK_GROUPS = 10
    groups = pairs(3)
    bad = groups[1][0].pk
    real = planning.plan_group

    def plan_group(request, people, now, **options):  # noqa: ANN001, ANN003, ANN202
        if request.base_id == bad:
            raise AttributeError("'list' object has no attribute 'get'")
        return real(request, people, now, **options)

    monkeypatch.setattr(planning, "plan_group", plan_group)
    before = rows_by_relation()

    run = run_dedup(dry_run=dry_run)

    assert (run.status, run.groups_found) == ("succeeded", 3)
    entries = {entry["base"]: entry for entry in report_entries(run)}
    assert entries[bad]["outcome"] == "refused"
    assert "AttributeError" in entries[bad]["error"]
    assert {entries[g[0].pk]["outcome"] for g in (groups[0], groups[2])} == (
        {"would merge"} if dry_run else {"merged"})
    assert Person.objects.get(pk=groups[1][1][0].pk).merged_into_id is None
    assert conservation_problems(before) == []


def snapshot_of(person: Person) -> dict:
    return {f.attname: getattr(person, f.attname) for f in Person._meta.concrete_fields}


def test_locked_rows_are_planned_from_and_left_as_they_were_even_after_the_fallback():
    """`merge_many(locked=True)` (the dedup's chunk): the engine plans from the caller's rows
    without reading them again, writes what it writes from ids, and never changes the
    caller's instances — the fallback plans the groups again from them after a rollback."""
    from django.db import transaction

    groups = pairs(3)
    for base, others in groups:
        base.city, others[0].city = "", "Lyon"  # a value the merge takes from the other
        Person.objects.filter(pk=others[0].pk).update(city="Lyon")
        Person.objects.filter(pk=base.pk).update(city="")
    refuse_journal_of(groups[1][0])
    with transaction.atomic():
        ids = [p.pk for base, others in groups for p in (base, *others)]
        rows = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=ids)
                .order_by("pk")}
        locked = [(rows[base.pk], [rows[o.pk] for o in others]) for base, others in groups]
        before = {pk: snapshot_of(person) for pk, person in rows.items()}

        outcomes = merge_many(locked, reason="dedup", locked=True)

        assert {pk: snapshot_of(person) for pk, person in rows.items()} == before
    assert [type(o) for o in outcomes] == [MergeRecord, MergeRefused, MergeRecord]
    for index in (0, 2):
        base, (other,) = groups[index]
        assert Person.objects.get(pk=base.pk).city == "Lyon"
        assert Person.objects.get(pk=other.pk).merged_into_id == base.pk
        assert outcomes[index].snapshot[str(base.pk)]["city"] == ""


def test_locked_mode_takes_rows_not_ids():
    from django.db import transaction

    base, (other,) = pairs(1)[0]
    with transaction.atomic(), pytest.raises(TypeError, match="Person rows"):
        merge_many([(base.pk, [other.pk])], locked=True)
    assert Person.objects.get(pk=other.pk).merged_into_id is None


def test_locked_rows_a_refused_group_is_left_out_of_the_move():
    """With locked rows the groups are checked before their rows move: a refused group's rows
    never move (nothing to roll back), the others merge."""
    from django.db import transaction

    (good_base, good_others), (bad_base, bad_others) = pairs(2)
    Person.objects.filter(pk=bad_base.pk).update(user_id="u-1")
    Person.objects.filter(pk=bad_others[0].pk).update(user_id="u-2")
    before = rows_by_relation()
    with transaction.atomic():
        ids = [p.pk for p in (good_base, *good_others, bad_base, *bad_others)]
        rows = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=ids)
                .order_by("pk")}
        outcomes = merge_many([(rows[good_base.pk], [rows[good_others[0].pk]]),
                               (rows[bad_base.pk], [rows[bad_others[0].pk]])],
                              reason="dedup", locked=True)
    assert isinstance(outcomes[0], MergeRecord)
    assert isinstance(outcomes[1], MergeRefused) and outcomes[1].code == "different_user_ids"
    assert bad_others[0].activities.count() == 2  # its rows stayed
    assert Person.objects.get(pk=bad_others[0].pk).merged_into_id is None
    assert conservation_problems(before) == []
