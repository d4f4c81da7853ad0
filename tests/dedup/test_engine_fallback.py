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

    def plan_group(request, people, now):  # noqa: ANN001, ANN202
        if request.base_id == bad:
            raise AttributeError("'list' object has no attribute 'get'")
        return real(request, people, now)

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
