"""delete_people: a person goes with their rows and tombstones; nobody else loses anything."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from dedup.services.marks import keep_apart
from profiles.models import Activity, Identity, MergeRecord, Person, PersonTag
from profiles.services import merge_people
from profiles.services.deletion import delete_people, plan_deletion
from segments.models import Segment, SegmentMembership
from tests.factories import (
    ActivityFactory,
    ConversationFactory,
    DealFactory,
    IdentityFactory,
    PersonFactory,
    PersonTagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def with_rows(person: Person) -> Person:
    ActivityFactory.create_batch(3, person=person)
    IdentityFactory(person=person)
    PersonTagFactory(person=person)
    ConversationFactory(person=person)
    DealFactory(person=person)
    segment, _ = Segment.objects.get_or_create(key="with-rows", defaults={"name": "With rows"})
    SegmentMembership.objects.create(segment=segment, person=person)
    keep_apart(people=[person, PersonFactory()], actor=None, reason="not the same person")
    return person


def rows_of(person_ids) -> dict[str, set[int]]:
    """Every row pointing at these people, by table (the conservation check)."""
    return {
        model.__name__: set(model.objects.filter(person_id__in=person_ids)
                            .values_list("pk", flat=True))
        for model in (Activity, Identity, PersonTag)
    }


def test_deletes_the_person_and_their_rows_and_keeps_everyone_else():
    doomed = with_rows(PersonFactory())
    keeper = with_rows(PersonFactory())
    before = rows_of([keeper.pk])
    summary = delete_people(people=[doomed], actor=None, reason="duplicate")
    assert not Person.objects.filter(pk=doomed.pk).exists()
    assert rows_of([doomed.pk]) == {"Activity": set(), "Identity": set(), "PersonTag": set()}
    assert rows_of([keeper.pk]) == before
    assert summary.people_count == 1


def test_deleting_a_base_takes_its_tombstones_and_their_journal_entries():
    base = with_rows(PersonFactory(user_id="u-1"))
    dup = with_rows(PersonFactory())
    older = with_rows(PersonFactory())
    merge_people(base=dup, others=[older])
    record = merge_people(base=base, others=[dup])
    plan = plan_deletion(people=[base])
    assert {p.pk for p in plan[0].tombstones} == {dup.pk, older.pk}
    assert plan[0].counts["activities"] >= 9 and plan[0].counts["merge journal entries"] == 2
    summary = delete_people(people=[base], actor=None, reason="duplicate")
    assert not Person.objects.filter(pk__in=[base.pk, dup.pk, older.pk]).exists()
    assert not MergeRecord.objects.exists()
    assert record.pk in summary.merge_records_deleted and summary.people_count == 3


def test_rows_of_others_first_recorded_for_the_deleted_person_are_kept():
    doomed = PersonFactory()
    keeper = PersonFactory()
    # A row that moved to keeper (say, by a merge undone since) but was recorded for doomed.
    kept = ActivityFactory(person=keeper, original_person=doomed)
    summary = delete_people(people=[doomed], actor=None, reason="duplicate")
    kept.refresh_from_db()
    assert kept.person == keeper and kept.original_person == keeper
    assert summary.rows_repointed == 1


def test_a_tombstone_cannot_be_deleted_on_its_own():
    base = PersonFactory()
    dup = PersonFactory()
    merge_people(base=base, others=[dup])
    with pytest.raises(ValidationError, match="delete the surviving profile"):
        delete_people(people=[dup], actor=None, reason="x")
    assert Person.objects.filter(pk=dup.pk).exists()


def test_nothing_to_delete_is_refused():
    with pytest.raises(ValidationError):
        delete_people(people=[], actor=None, reason="x")


def test_a_refusal_writes_nothing():
    live = with_rows(PersonFactory())
    base = PersonFactory()
    dup = PersonFactory()
    merge_people(base=base, others=[dup])
    with pytest.raises(ValidationError):
        delete_people(people=[live, dup], actor=None, reason="x")
    assert Person.objects.filter(pk=live.pk).exists()
    assert Activity.objects.filter(person=live).count() == 3


def test_deletion_writes_history_with_who_and_why():
    user = UserFactory()
    person = PersonFactory()
    identity = IdentityFactory(person=person)
    delete_people(people=[person], actor=user, reason="fake signup")
    row = Person.history.filter(id=person.pk).latest("history_date")
    assert row.history_type == "-"
    assert row.history_user == user and row.history_change_reason == "fake signup"
    gone = Identity.history.get(id=identity.pk, history_type="-")
    assert gone.history_user == user and gone.history_change_reason == "fake signup"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("dup_first", [True, False])
def test_delete_racing_a_merge_into_it_ends_clean(dup_first):
    """Delete B while X merges into B: one wins, the other refuses; nothing half done."""
    import threading

    from django.db import connections

    from profiles.services.merging import invariant_problems

    if dup_first:  # id order decides who locks what first
        dup = with_rows(PersonFactory())
        base = with_rows(PersonFactory(user_id="u-1"))
    else:
        base = with_rows(PersonFactory(user_id="u-1"))
        dup = with_rows(PersonFactory())
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def run(name, call):
        try:
            barrier.wait()
            results[name] = call()
        except Exception as exc:  # asserted below
            results[name] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=("merge", lambda: merge_people(base=base, others=[dup]))),
        threading.Thread(target=run, args=("delete", lambda: delete_people(
            people=[base], actor=None, reason="race"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert all(isinstance(error, ValidationError) for error in errors), results  # no crash
    assert len(errors) <= 1, results  # at least one of them went through
    if Person.objects.filter(pk=base.pk).exists():  # the merge won, the delete refused
        assert Person.objects.get(pk=dup.pk).merged_into_id == base.pk
    else:  # the delete won: the duplicate is either untouched or deleted with its base
        assert not Person.objects.filter(pk=dup.pk, merged_into__isnull=False).exists()
    assert invariant_problems() == []
    # No row points at a person who no longer exists.
    assert not Activity.objects.exclude(person_id__in=Person.objects.values("pk")).exists()


def test_deletion_handles_every_table_of_the_merge_engines_registry():
    """One relation registry: what a merge moves with a person, deleting the person counts,
    re-points and deletes — a model added to the registry later included."""
    from profiles.services.merging import person_relations

    registry = {relation.verbose_name_plural for relation in person_relations()}
    doomed = with_rows(PersonFactory())
    missing = {r.model.__name__ for r in person_relations()
               if not r.model._base_manager.filter(**{r.column: doomed.pk}).exists()}
    assert not missing, f"with_rows() makes no row for {sorted(missing)}: add one"

    [item] = plan_deletion(people=[doomed])
    delete_people(people=[doomed], reason="test")

    assert set(item.counts) == registry
    assert not any(r.model._base_manager.filter(**{r.column: doomed.pk}).exists()
                   for r in person_relations())
