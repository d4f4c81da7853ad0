"""undo_merge: the exact pre-merge state comes back, or a clear refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.models import KeptApartEnd
from profiles.models import Activity, MergeRecord, Person
from profiles.services import MergeRefused, merge_people, undo_merge
from profiles.services.merging import UndoRefused, conservation_problems, invariant_problems
from profiles.services.merging.relations import person_relations
from profiles.services.merging.state import SNAPSHOT_FIELDS
from tests.factories import (
    ActivityFactory,
    AnonymousPersonFactory,
    ConversationFactory,
    DealFactory,
    IdentityFactory,
    PersonFactory,
    PersonTagFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SYSTEM_KINDS = {"merged", "note"}  # rows the merge and the undo write about themselves


def state() -> dict:
    """Every person's fields and every row's owner, minus the merge's own journal rows."""
    people = {
        person["id"]: person
        for person in Person.objects.values("id", *[f"{name}" for name in SNAPSHOT_FIELDS])
    }
    rows = {}
    for relation in person_relations():
        manager = relation.model._base_manager
        if relation.model is KeptApartEnd:
            # Undo adds its own marks (the people are not to be merged again): tests/dedup/
            # test_marks.py; the marks that were there before move back like any row.
            manager = manager.exclude(mark__reason__startswith="Merge #")
        if relation.model is Activity:
            manager = manager.exclude(source="system", kind__in=SYSTEM_KINDS)
        rows[relation.label] = dict(manager.values_list("pk", relation.column))
    tags = {
        person.pk: sorted(person.tags.values_list("name", flat=True))
        for person in Person.objects.filter(merged_into__isnull=True)
    }
    return {"people": people, "rows": rows, "tags": tags}


def busy(person: Person) -> Person:
    ActivityFactory.create_batch(3, person=person)
    IdentityFactory(person=person)
    IdentityFactory(person=person, kind="email", value="shared@example.com")
    ConversationFactory(person=person)
    DealFactory(person=person)
    PersonTagFactory(person=person, tag=TagFactory(name="shared"))
    PersonTagFactory(person=person)
    return person


def test_merge_then_undo_gives_back_the_exact_state():
    now = timezone.now()
    base = busy(AnonymousPersonFactory(
        city="", page_views=2, visits=1, attributes={"a": 1}, last_seen=now - timedelta(days=3),
        updated_at=now - timedelta(days=2),
    ))
    first = busy(PersonFactory(
        user_id="u-7", city="Oslo", page_views=5, visits=2, attributes={"a": 9, "b": 2},
        last_seen=now, first_seen=now - timedelta(days=50), created_at=now - timedelta(days=50),
    ))
    second = busy(AnonymousPersonFactory(name="", attributes={"c": 3}))
    before = state()

    record = merge_people(base=base, others=[first, second], actor=UserFactory())
    undo_merge(record=record, actor=UserFactory())

    assert state() == before
    assert invariant_problems() == []


def test_rows_recorded_on_the_base_after_the_merge_stay_on_the_base():
    base, other = PersonFactory(), busy(PersonFactory())
    record = merge_people(base=base, others=[other])
    later = ActivityFactory(person=base)  # recorded for the live base, after the merge

    undo_merge(record=record)

    later.refresh_from_db()
    assert later.person_id == base.pk
    assert Activity.objects.filter(person=other, original_person=other).count() == 3


def test_values_changed_on_the_base_since_the_merge_are_kept():
    base = PersonFactory(city="", page_views=1)
    other = PersonFactory(city="Rome", company="Acme", page_views=4)
    record = merge_people(base=base, others=[other])
    base.refresh_from_db()
    base.company = "Edited Co"
    base.page_views += 10  # ten page views tracked after the merge
    base.save()

    undo_merge(record=record)

    base.refresh_from_db()
    assert base.city == ""  # filled by the merge, unchanged since: given back
    assert base.company == "Edited Co"  # edited since: the edit stays
    assert base.page_views == 11


def test_user_id_goes_back_to_the_person_it_came_from():
    base = AnonymousPersonFactory(updated_at=timezone.now() - timedelta(days=1))
    other = PersonFactory(user_id="u-42")
    record = merge_people(base=base, others=[other])

    undo_merge(record=record)

    assert Person.objects.get(user_id="u-42", merged_into__isnull=True).pk == other.pk
    assert Person.objects.get(pk=base.pk).user_id is None


def test_undo_is_journaled_with_history():
    staff = UserFactory()
    base, other = PersonFactory(), PersonFactory()
    record = merge_people(base=base, others=[other])

    undo_merge(record=record, actor=staff)

    record.refresh_from_db()
    assert record.undone_at is not None and record.undone_by == staff
    for person in (base, other):
        latest = person.history.latest()
        assert latest.history_change_reason == f"undo merge #{record.pk}"
        assert latest.history_user == staff
    assert Activity.objects.filter(person=base, properties__undone_merge=record.pk).exists()


def test_undoing_twice_is_refused_clearly():
    base, other = PersonFactory(), PersonFactory()
    record = merge_people(base=base, others=[other])
    undo_merge(record=record)

    with pytest.raises(UndoRefused) as refused:
        undo_merge(record=record)

    assert refused.value.code == "already_undone"
    assert isinstance(refused.value, MergeRefused)


def test_undo_refused_when_the_base_was_since_merged_elsewhere():
    first, second, third = PersonFactory(), PersonFactory(), PersonFactory()
    inner = merge_people(base=second, others=[first])
    outer = merge_people(base=third, others=[second])

    with pytest.raises(UndoRefused) as refused:
        undo_merge(record=inner)

    assert refused.value.code == "base_merged"
    assert f"merge #{outer.pk}" in str(refused.value) and "undo that first" in str(refused.value)


def test_undo_refused_while_a_later_merge_into_the_same_base_stands():
    base, first, second = PersonFactory(), PersonFactory(), PersonFactory()
    earlier = merge_people(base=base, others=[first])
    later = merge_people(base=base, others=[second])

    with pytest.raises(UndoRefused) as refused:
        undo_merge(record=earlier)

    assert refused.value.code == "later_merge" and f"#{later.pk}" in str(refused.value)
    undo_merge(record=later)
    undo_merge(record=earlier)  # in reverse order both undo
    assert Person.objects.filter(merged_into__isnull=True).count() == 3


def test_nested_merges_undo_in_reverse_order_exactly():
    first, second, third = busy(PersonFactory()), busy(PersonFactory()), busy(PersonFactory())
    before = state()
    inner = merge_people(base=second, others=[first])
    outer = merge_people(base=third, others=[second])
    snapshot = {
        relation.label: dict(relation.model._base_manager.values_list("pk", relation.column))
        for relation in person_relations()
    }

    undo_merge(record=outer)
    undo_merge(record=inner)

    assert state() == before
    assert conservation_problems(snapshot) == []


def test_undo_refused_when_a_merged_person_is_no_longer_a_tombstone_of_the_base():
    base, other = PersonFactory(), PersonFactory()
    record = merge_people(base=base, others=[other])
    Person.objects.filter(pk=other.pk).update(merged_into=None, merged_at=None)

    with pytest.raises(UndoRefused) as refused:
        undo_merge(record=record)

    assert refused.value.code == "person_changed"
    assert MergeRecord.objects.get(pk=record.pk).undone_at is None


def test_undo_refused_when_the_user_id_was_taken_meanwhile():
    base = AnonymousPersonFactory(updated_at=timezone.now() - timedelta(days=1))
    other = PersonFactory(user_id="u-9")
    record = merge_people(base=base, others=[other])
    Person.objects.filter(pk=base.pk).update(user_id=None)
    PersonFactory(user_id="u-9")

    with pytest.raises(UndoRefused) as refused:
        undo_merge(record=record)

    assert refused.value.code == "user_id_taken"


def test_undo_of_an_unknown_record_is_refused():
    with pytest.raises(UndoRefused) as refused:
        undo_merge(record=123456)
    assert refused.value.code == "missing"


def test_merge_after_undo_works_again():
    base, other = busy(PersonFactory()), busy(PersonFactory())
    undo_merge(record=merge_people(base=base, others=[other]))

    again = merge_people(base=base, others=[other])

    assert again.undone_at is None
    assert Person.objects.get(pk=other.pk).merged_into_id == base.pk


_unique = iter(range(10**9))
TAG_POOL = ("red", "green", "blue")
TEXT = st.sampled_from(["", "Ann", "Bob", "Oslo", "Acme"])
MOMENT = st.none() | st.integers(0, 10**6).map(
    lambda seconds: timezone.now().replace(microsecond=0) - timedelta(seconds=seconds)
)


@st.composite
def people_to_merge(draw) -> tuple[Person, list[Person], dict]:
    count = draw(st.integers(2, 4))
    owner = draw(st.none() | st.integers(0, count - 1))  # at most one user ID: mergeable
    people = []
    for index in range(count):
        person = PersonFactory(
            user_id=f"prop-{next(_unique)}" if index == owner else None,
            status=draw(st.sampled_from(["user", "visitor"])),
            name=draw(TEXT), email=draw(st.sampled_from(["", "a@x.io", "b@x.io"])),
            city=draw(TEXT), company=draw(TEXT),
            attributes=draw(st.dictionaries(st.sampled_from("abc"), st.integers(0, 3))),
            page_views=draw(st.integers(0, 50)), visits=draw(st.integers(0, 5)),
            last_seen=draw(MOMENT), first_seen=draw(MOMENT), last_contacted=draw(MOMENT),
        )
        ActivityFactory.create_batch(draw(st.integers(0, 3)), person=person)
        for tag in draw(st.sets(st.sampled_from(TAG_POOL))):
            PersonTagFactory(person=person, tag=TagFactory(name=tag))
        for email in draw(st.sets(st.sampled_from(["a@x.io", "b@x.io"]))):
            IdentityFactory(person=person, kind="email", value=email)
        people.append(person)
    base = draw(st.sampled_from(people))
    others = [person for person in people if person != base]
    overrides = {
        field: draw(st.sampled_from(people))
        for field in draw(st.sets(st.sampled_from(["name", "city", "email"])))
    }
    return base, others, overrides


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=people_to_merge())
def test_any_merge_then_undo_restores_everything(case):
    base, others, overrides = case
    before = state()
    rows_before = {
        relation.label: dict(relation.model._base_manager.values_list("pk", relation.column))
        for relation in person_relations()
    }

    record = merge_people(base=base, others=others, overrides=overrides)
    assert conservation_problems(rows_before) == []
    undo_merge(record=record)

    assert state() == before


def test_undoing_identify_takes_the_devices_profiling_back_out_of_the_user():
    from profiles.services import identify, track

    track(anonymous_id="phone", kind="page_view",
          properties={"product": "mug", "url": "https://shop.example/mug"})
    user = identify(anonymous_id="phone", user_id="u-1")
    for product in ("mug", "lamp"):
        track(anonymous_id="laptop", kind="page_view",
              properties={"product": product, "url": f"https://shop.example/{product}"})
    laptop = Person.objects.get(identities__value="laptop")
    laptop_profile = laptop.attributes
    users_touch = Person.objects.get(pk=user.pk).attributes["first_touch"]

    identify(anonymous_id="laptop", user_id="u-1")
    assert Person.objects.get(pk=user.pk).attributes["products_viewed"] == {"mug": 2, "lamp": 1}
    track(anonymous_id="laptop", kind="page_view",  # after the merge: the user's own now
          properties={"product": "cup", "url": "https://shop.example/cup"})
    undo_merge(record=MergeRecord.objects.get(reason="identify"))

    user, laptop = Person.objects.get(pk=user.pk), Person.objects.get(pk=laptop.pk)
    assert user.attributes["products_viewed"] == {"mug": 1, "cup": 1}
    assert user.attributes["first_touch"] == users_touch
    assert laptop.attributes == laptop_profile
