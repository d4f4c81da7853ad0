"""“Not the same person” marks: the services, and marks following merges and undo."""

from __future__ import annotations

import pytest

from dedup.models import KeptApart
from dedup.services.marks import (
    KeepApartRefused,
    keep_apart,
    kept_apart_pairs,
    marks_of,
    remove_kept_apart,
)
from profiles.services import merge_people, undo_merge
from profiles.services.merging import conservation_problems, rows_by_relation
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_keep_apart_marks_every_pair_with_who_and_why():
    ann, bob, cat = PersonFactory.create_batch(3)
    staff = UserFactory()

    marks = keep_apart(people=[cat, ann, bob.pk], actor=staff, reason="  Two  sisters ")

    assert len(marks) == 3
    assert kept_apart_pairs([ann.pk, bob.pk, cat.pk]) == {
        frozenset((ann.pk, bob.pk)), frozenset((ann.pk, cat.pk)), frozenset((bob.pk, cat.pk))}
    mark = KeptApart.objects.filter(ends__person=ann).get(ends__person=bob)
    assert (mark.actor, mark.reason) == (staff, "Two sisters")
    assert sorted(mark.ends.values_list("person_id", "original_person_id")) == [
        (ann.pk, ann.pk), (bob.pk, bob.pk)]


def test_keep_apart_is_safe_to_repeat():
    ann, bob = PersonFactory.create_batch(2)
    first = keep_apart(people=[ann, bob], actor=None, reason="different")
    again = keep_apart(people=[bob, ann], actor=None, reason="different again")

    assert [m.pk for m in again] == [m.pk for m in first]
    assert KeptApart.objects.count() == 1


@pytest.mark.parametrize("people, reason, code", [
    ("one", "why", "too_few"),
    ("same twice", "why", "too_few"),
    ("two", "   ", "reason"),
    ("two", "x" * 501, "reason"),
    ("missing", "why", "missing"),
    ("tombstone", "why", "tombstone"),
])
def test_keep_apart_refuses_with_a_sentence_and_writes_nothing(people, reason, code):
    ann, bob = PersonFactory.create_batch(2)
    chosen = {
        "one": [ann], "same twice": [ann, ann.pk], "two": [ann, bob],
        "missing": [ann, 987_654], "tombstone": [ann, bob],
    }[people]
    if people == "tombstone":
        merge_people(base=ann, others=[bob], actor=None, reason="manual")
        chosen = [PersonFactory(), bob]

    with pytest.raises(KeepApartRefused) as refused:
        keep_apart(people=chosen, actor=None, reason=reason)

    assert refused.value.code == code
    assert refused.value.messages[0].endswith(".") or refused.value.messages[0].endswith(")")
    assert "[" not in refused.value.messages[0]
    assert not KeptApart.objects.exists()


def test_a_removed_mark_stays_on_record_and_no_longer_counts():
    ann, bob = PersonFactory.create_batch(2)
    staff = UserFactory()
    (mark,) = keep_apart(people=[ann, bob], actor=None, reason="different")

    removed = remove_kept_apart(mark=mark, actor=staff, reason="They are the same after all")

    assert removed.removed_by == staff and removed.removed_at is not None
    assert removed.removal_reason == "They are the same after all"
    assert kept_apart_pairs([ann.pk, bob.pk]) == set()
    assert marks_of(ann) == []
    with pytest.raises(KeepApartRefused) as again:
        remove_kept_apart(mark=mark, actor=staff, reason="twice")
    assert again.value.code == "already_removed"


def test_a_merge_moves_marks_to_the_base_and_undo_moves_them_back():
    ann, bob, cat = PersonFactory.create_batch(3)
    keep_apart(people=[ann, bob], actor=None, reason="different")
    before = rows_by_relation()

    record = merge_people(base=cat, others=[bob], actor=None, reason="manual")

    assert kept_apart_pairs([ann.pk, cat.pk]) == {frozenset((ann.pk, cat.pk))}
    assert conservation_problems(before, rows_by_relation()) == []
    undo_merge(record=record)
    mark = KeptApart.objects.get(reason="different")
    assert sorted(mark.ends.values_list("person_id", flat=True)) == [ann.pk, bob.pk]


def test_undo_records_that_its_people_are_kept_apart_with_who_and_why():
    base, first, second = PersonFactory.create_batch(3)
    record = merge_people(base=base, others=[first, second], actor=None, reason="manual")
    staff = UserFactory()

    undo_merge(record=record, actor=staff)

    assert kept_apart_pairs([base.pk, first.pk, second.pk]) == {
        frozenset((base.pk, first.pk)), frozenset((base.pk, second.pk))}
    marks = KeptApart.objects.filter(ends__person=base)
    assert {m.actor for m in marks} == {staff}
    assert {m.reason for m in marks} == {
        f"Merge #{record.pk} was undone: these people are not to be merged again."}


def test_keep_apart_from_marks_each_person_against_the_others_only():
    typed, victim, duplicate = PersonFactory.create_batch(3)

    keep_apart(people=[typed], apart_from=[victim, duplicate], actor=None, reason="typed")

    assert kept_apart_pairs([typed.pk, victim.pk, duplicate.pk]) == {
        frozenset((typed.pk, victim.pk)), frozenset((typed.pk, duplicate.pk))}
