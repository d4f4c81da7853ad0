"""The one history writer: rows as simple-history's save() writes them, with who and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.models import Identity, Person
from profiles.services.history import (
    merge_reason,
    merge_reason_sql,
    write_history,
    write_stored_history,
)
from tests.factories import IdentityFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def _tracked(row) -> dict:
    fields = row.instance_type.history.model.tracked_fields
    return {f.attname: getattr(row, f.attname) for f in fields}


def test_rows_for_people_and_identities_hold_their_values_actor_and_reason():
    staff = UserFactory()
    person = PersonFactory(name="Ada", page_views=3)
    identity = IdentityFactory(person=person, original_person=person)
    person.name = "Ada L."  # in memory only: the writer records what it is given
    at = timezone.now() - timedelta(minutes=5)

    write_history(instances=[person, identity], history_type="~", actor=staff,
                  reason="edited by staff", at=at)

    row = Person.history.filter(id=person.pk).latest("history_id")
    assert (row.name, row.page_views, row.history_type) == ("Ada L.", 3, "~")
    assert (row.history_user_id, row.history_change_reason, row.history_date) == (
        staff.pk, "edited by staff", at)
    identity_row = Identity.history.filter(id=identity.pk).latest("history_id")
    assert (identity_row.value, identity_row.history_user_id) == (identity.value, staff.pk)


def test_the_same_row_as_simple_history_writes_on_save():
    person = PersonFactory(name="Grace", attributes={"plan": "pro"})
    person._change_reason = "saved"
    person.save()
    saved = Person.history.filter(id=person.pk).latest("history_id")

    write_history(instances=[person], history_type="~", actor=None, reason="saved")

    written = Person.history.filter(id=person.pk).latest("history_id")
    assert written.history_id != saved.history_id
    assert _tracked(written) == _tracked(saved)


def test_one_reason_per_instance_in_bulk_and_rows_in_the_order_given():
    people = PersonFactory.create_batch(3)
    ordered = [people[2], people[0], people[1]]

    write_history(instances=ordered, history_type="~", actor=None,
                  reason=["third", "first", "second"])

    rows = Person.history.filter(history_change_reason__in=["first", "second", "third"])
    assert [(r.id, r.history_change_reason) for r in rows.order_by("history_id")] == [
        (people[2].pk, "third"), (people[0].pk, "first"), (people[1].pk, "second")]


def test_stored_rows_are_copied_as_the_database_holds_them():
    staff = UserFactory()
    people = PersonFactory.create_batch(2, page_views=1)
    Person.objects.filter(pk=people[0].pk).update(page_views=41)  # skips simple-history

    write_stored_history(model=Person, ids=[people[1].pk, people[0].pk], history_type="~",
                         actor=staff, reason=["b", "a"])

    rows = list(Person.history.filter(history_change_reason__in=["a", "b"]).order_by("history_id"))
    assert [(r.id, r.page_views, r.history_change_reason, r.history_user_id) for r in rows] == [
        (people[1].pk, 1, "b", staff.pk), (people[0].pk, 41, "a", staff.pk)]


def test_a_merge_reason_built_in_sql_reads_like_the_python_one():
    person = PersonFactory()

    write_stored_history(model=Person, ids=[person.pk], history_type="~", actor=None,
                         reason="dedup", reason_sql=merge_reason_sql("7"))

    row = Person.history.filter(id=person.pk).latest("history_id")
    assert row.history_change_reason == merge_reason(record_id=7, reason="dedup")


def test_long_reasons_are_cut_to_the_column_and_bad_arguments_refused():
    person = PersonFactory()
    write_history(instances=[person], history_type="+", actor=None, reason="x" * 500)
    assert len(Person.history.filter(id=person.pk).latest("history_id").history_change_reason) \
        == 100
    with pytest.raises(ValueError, match="history_type"):
        write_history(instances=[person], history_type="?", actor=None, reason="r")
    with pytest.raises(ValueError, match="2 reasons for 1 rows"):
        write_stored_history(model=Person, ids=[person.pk], history_type="~", actor=None,
                             reason=["a", "b"])
