"""identify(): the Identify rules of docs/rules.md, one case per test."""

from __future__ import annotations

import pytest

from profiles.models import (
    Activity,
    ActivityKind,
    Identity,
    IdentityKind,
    MergeRecord,
    Person,
    PersonStatus,
)
from profiles.services import identify, track
from profiles.services.merging import conservation_problems, rows_by_relation
from profiles.services.validation import InvalidInput

pytestmark = pytest.mark.django_db


def page_views(anonymous_id: str, count: int = 2) -> Person:
    for n in range(count):
        track(anonymous_id=anonymous_id, kind="page_view", properties={"path": f"/p{n}"})
    return Person.objects.get(identities__value=anonymous_id)


def live_people() -> list[Person]:
    return list(Person.objects.filter(merged_into__isnull=True))


def test_new_user_without_device_creates_an_identified_profile():
    person = identify(user_id="u-1", email="Ann@Example.com ", traits={"name": "Ann"})

    assert person.user_id == "u-1"
    assert person.status == PersonStatus.USER
    assert person.email == "Ann@Example.com"
    assert person.name == "Ann"
    assert set(person.identities.values_list("kind", "value")) == {
        (IdentityKind.USER_ID, "u-1"),
        (IdentityKind.EMAIL, "ann@example.com"),
    }


def test_anonymous_visitor_is_promoted_on_first_identify():
    visitor = page_views("device-a")
    assert visitor.status == PersonStatus.VISITOR and visitor.user_id is None

    person = identify(anonymous_id="device-a", user_id="u-1", traits={"plan": "pro"})

    assert person.pk == visitor.pk
    person.refresh_from_db()
    assert person.user_id == "u-1"
    assert person.status == PersonStatus.USER
    assert person.attributes["plan"] == "pro"
    assert person.page_views == 2
    assert not MergeRecord.objects.exists()
    assert person.history.filter(history_change_reason__startswith="identify").exists()


def test_existing_user_absorbs_the_anonymous_profile_through_the_merge_engine():
    user = identify(user_id="u-1", email="ann@example.com")
    visitor = page_views("device-b", count=3)
    before = rows_by_relation()

    person = identify(anonymous_id="device-b", user_id="u-1")

    assert person.pk == user.pk
    visitor.refresh_from_db()
    assert visitor.merged_into_id == user.pk
    record = MergeRecord.objects.get()
    assert record.reason == "identify" and record.merged_ids == [visitor.pk]
    assert conservation_problems(before) == []
    assert Activity.objects.filter(person=user, kind=ActivityKind.PAGE_VIEW).count() == 3
    assert Identity.objects.get(value="device-b").person_id == user.pk


def test_second_device_is_stitched_at_its_own_identify():
    phone = page_views("phone", count=2)
    laptop = page_views("laptop", count=3)

    first = identify(anonymous_id="phone", user_id="u-7")
    second = identify(anonymous_id="laptop", user_id="u-7")

    assert first.pk == second.pk == phone.pk
    assert [p.pk for p in live_people()] == [phone.pk]
    laptop.refresh_from_db()
    assert laptop.merged_into_id == phone.pk
    phone.refresh_from_db()
    assert phone.page_views == 5
    # Events for the laptop's device id now land on the stitched person.
    later = track(anonymous_id="laptop", kind="page_view")
    assert later.person_id == phone.pk


def test_device_already_owned_by_another_user_is_left_alone():
    shared = page_views("shared-computer")
    identify(anonymous_id="shared-computer", user_id="alice")

    person = identify(anonymous_id="shared-computer", user_id="bob")

    shared.refresh_from_db()
    assert shared.user_id == "alice" and shared.merged_into_id is None
    assert person.user_id == "bob" and person.pk != shared.pk
    assert Identity.objects.get(value="shared-computer").person_id == shared.pk
    assert not MergeRecord.objects.exists()


def test_device_owned_by_another_user_when_the_user_already_exists():
    bob = identify(user_id="bob")
    identify(anonymous_id="shared", user_id="alice")

    person = identify(anonymous_id="shared", user_id="bob")

    assert person.pk == bob.pk
    assert Person.objects.get(user_id="alice").merged_into_id is None
    assert not MergeRecord.objects.exists()


def test_different_user_ids_are_never_merged():
    identify(anonymous_id="d1", user_id="u-1")
    identify(anonymous_id="d2", user_id="u-2")
    identify(anonymous_id="d1", user_id="u-2")
    identify(anonymous_id="d2", user_id="u-1")

    people = live_people()
    assert sorted(p.user_id for p in people) == ["u-1", "u-2"]
    assert not MergeRecord.objects.exists()


def test_identify_is_idempotent():
    first = identify(anonymous_id="d1", user_id="u-1", email="a@example.com")
    again = identify(anonymous_id="d1", user_id="u-1", email="a@example.com")

    assert first.pk == again.pk
    assert Person.objects.count() == 1
    assert Identity.objects.filter(kind=IdentityKind.EMAIL).count() == 1


def test_new_device_of_existing_user_gets_the_device_id_attached():
    user = identify(user_id="u-1")

    identify(anonymous_id="fresh-device", user_id="u-1")

    assert Identity.objects.get(value="fresh-device").person_id == user.pk
    assert track(anonymous_id="fresh-device", kind="page_view").person_id == user.pk


def test_email_only_identify_sets_email_and_user_status_on_the_device_profile():
    visitor = page_views("d1")

    person = identify(anonymous_id="d1", email="zoe@example.com")

    assert person.pk == visitor.pk
    person.refresh_from_db()
    assert person.email == "zoe@example.com"
    assert person.status == PersonStatus.USER
    assert person.user_id is None


def test_identify_records_an_identify_activity():
    person = identify(anonymous_id="d1", user_id="u-1")

    activity = person.activities.get(kind=ActivityKind.IDENTIFY)
    assert activity.properties == {"user_id": "u-1", "anonymous_id": "d1"}


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"user_id": "undefined"}, "user_id"),
        ({"user_id": "null"}, "user_id"),
        ({"user_id": "anonymous"}, "user_id"),
        ({"user_id": "0"}, "user_id"),
        ({"user_id": 0}, "user_id"),
        ({"user_id": "[object Object]"}, "user_id"),
        ({"user_id": "   "}, "user_id"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "x" * 256}, "user_id"),
        ({"user_id": "u\x00"}, "user_id"),
        ({"user_id": ["u-1"]}, "user_id"),
        ({"user_id": "u-1", "anonymous_id": "None"}, "anonymous_id"),
        ({"user_id": "u-1", "email": "not-an-email"}, "email"),
        ({"user_id": "u-1", "traits": {"email": "nope"}}, "traits.email"),
        ({"user_id": "u-1", "traits": ["x"]}, "traits"),
        ({"user_id": "u-1", "traits": {"name": 5}}, "traits.name"),
        ({"user_id": "u-1", "traits": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}, "traits"),
        ({"anonymous_id": "d1"}, "user_id"),
        ({"user_id": "u-1", "traits": {"first_touch": {"utm_source": "fake"}}},
         "traits.first_touch"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(arguments, field):
    with pytest.raises(InvalidInput) as caught:
        identify(**arguments)

    assert caught.value.field == field
    assert Person.objects.count() == 0 and Identity.objects.count() == 0


def test_profiling_of_stitched_devices_is_added_up():
    track(anonymous_id="phone", kind="page_view", properties={"product": "mug", "url": "/m"})
    identify(anonymous_id="phone", user_id="u-1")
    track(anonymous_id="laptop", kind="page_view", properties={"product": "mug", "url": "/m"})
    track(anonymous_id="laptop", kind="page_view", properties={"product": "lamp", "url": "/l"})

    person = identify(anonymous_id="laptop", user_id="u-1")

    person.refresh_from_db()
    assert person.attributes["products_viewed"] == {"mug": 2, "lamp": 1}
    assert person.attributes["exit_page"] == "/l"
    assert person.attributes["first_touch"]["landing_page"] == "/m"
