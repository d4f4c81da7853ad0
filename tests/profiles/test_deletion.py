"""delete_people: a person goes with their rows and tombstones; nobody else loses anything."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from profiles.models import Activity, Identity, MergeRecord, Person, PersonTag
from profiles.services import merge_people
from profiles.services.deletion import delete_people, plan_deletion
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
