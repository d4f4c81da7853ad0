"""apply_staff_edit and create_person: the staff edit rules, as the admin and the shell use them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from profiles.models import Identity, IdentityKind, Person
from profiles.services import identify, merge_people, track
from profiles.services.attributes import MAX_KEYS
from profiles.services.people import StaffEditRefused, apply_staff_edit, create_person
from profiles.services.validation import InvalidInput
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def opened_values(person: Person) -> dict:
    """What the admin form shows when staff open the person's page."""
    from profiles.services.people import STAFF_FIELDS, staff_value

    return {name: staff_value(person, name) for name in STAFF_FIELDS}


def test_an_edit_saves_only_the_changed_fields_over_what_happened_meanwhile():
    user = identify(anonymous_id="dev-b", user_id="u-b", traits={"name": "Bea"})
    opened = opened_values(Person.objects.get(pk=user.pk))
    # Meanwhile: a second device logs in with an email, phone and a plan; purchases arrive.
    track(anonymous_id="dev-2", kind="page_view", properties={"url": "/p", "product": "hat"})
    identify(anonymous_id="dev-2", user_id="u-b", email="bea@example.com",
             traits={"phone": "+33 1", "plan": "pro"})
    for amount in (100, 200):
        track(user_id="u-b", kind="purchase", properties={"amount": amount})
    before = Person.objects.get(pk=user.pk)

    apply_staff_edit(person=user.pk, changes={"name": "Beatrice"}, opened=opened)

    after = Person.objects.get(pk=user.pk)
    assert after.name == "Beatrice"
    assert (after.email, after.phone) == ("bea@example.com", "+33 1")
    assert after.attributes == before.attributes  # plan, products_viewed, purchases kept
    assert after.attributes["purchases"]["count"] == 2
    assert after.page_views == before.page_views and after.visits == before.visits


def test_a_field_changed_since_the_page_was_opened_is_refused_and_nothing_is_written():
    person = PersonFactory(name="Bea", city="Paris")
    opened = opened_values(person)
    Person.objects.filter(pk=person.pk).update(name="Beatrix")
    history = person.history.count()

    with pytest.raises(StaffEditRefused) as refused:
        apply_staff_edit(person=person.pk, changes={"name": "Bee", "city": "Lyon"},
                         opened=opened)

    assert refused.value.code == "stale" and refused.value.fields == ["name"]
    assert "changed since you opened the page" in refused.value.messages[0]
    fresh = Person.objects.get(pk=person.pk)
    assert (fresh.name, fresh.city) == ("Beatrix", "Paris")
    assert person.history.count() == history


def test_other_fields_changed_meanwhile_do_not_block_an_edit():
    person = PersonFactory(name="Bea", city="Paris")
    opened = opened_values(person)
    Person.objects.filter(pk=person.pk).update(city="Lyon")

    apply_staff_edit(person=person.pk, changes={"name": "Bee"}, opened=opened)

    fresh = Person.objects.get(pk=person.pk)
    assert (fresh.name, fresh.city) == ("Bee", "Lyon")


def test_a_person_merged_since_the_page_was_opened_is_not_brought_back():
    base = PersonFactory(name="Base", user_id="u-1")
    other = PersonFactory(name="Other")
    opened = opened_values(other)
    record = merge_people(base=base, others=[other], reason="manual")

    with pytest.raises(StaffEditRefused) as refused:
        apply_staff_edit(person=other.pk, changes={"name": "Renamed"}, opened=opened)

    assert refused.value.code == "merged" and refused.value.base.pk == base.pk
    fresh = Person.objects.get(pk=other.pk)
    assert fresh.merged_into_id == base.pk and fresh.name == "Other"
    assert Person.objects.get(pk=base.pk).name == "Base"
    record.refresh_from_db()
    assert record.undone_at is None


def test_an_edit_that_changes_nothing_writes_no_history_row():
    person = PersonFactory(name="Bea")
    rows = person.history.count()

    apply_staff_edit(person=person.pk, changes={"name": "Bea", "city": ""},
                     opened=opened_values(person))

    assert person.history.count() == rows


def test_a_real_edit_writes_one_history_row_with_who_and_why(admin_user):
    person = PersonFactory(name="Bea")
    rows = person.history.count()

    apply_staff_edit(person=person.pk, changes={"name": "Bee"}, actor=admin_user)

    assert person.history.count() == rows + 1
    latest = person.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (admin_user, "edited by staff")


def test_counters_merges_and_dates_are_not_staff_fields():
    person = PersonFactory()
    for field in ("page_views", "merged_into", "last_seen", "avatar_seed"):
        with pytest.raises(StaffEditRefused) as refused:
            apply_staff_edit(person=person.pk, changes={field: None})
        assert refused.value.code == "not_editable"


def test_profiling_attributes_are_kept_when_staff_replace_the_custom_ones():
    person = PersonFactory(attributes={"plan": "pro", "purchases": {"count": 3, "revenue": 30}})

    apply_staff_edit(person=person.pk, changes={"attributes": {"tier": "gold"}})

    assert Person.objects.get(pk=person.pk).attributes == {
        "tier": "gold", "purchases": {"count": 3, "revenue": 30}}


@pytest.mark.parametrize("bad", [[1, 2], "a string", 7, {"purchases": "n/a"},
                                 {"email_offers": 7}, {"": 1}, {1: "x"},
                                 {"x": float("nan")}, {"x": "\x00"}])
def test_malformed_or_system_attributes_are_refused_from_the_shell(bad):
    person = PersonFactory(attributes={"plan": "pro"})

    with pytest.raises(ValidationError) as refused:
        apply_staff_edit(person=person.pk, changes={"attributes": bad})

    assert "attributes" in refused.value.message_dict
    assert Person.objects.get(pk=person.pk).attributes == {"plan": "pro"}


def test_limits_on_custom_attributes():
    person = PersonFactory()
    with pytest.raises(ValidationError, match="at most 200"):
        apply_staff_edit(person=person.pk,
                         changes={"attributes": {f"k{i}": i for i in range(MAX_KEYS + 1)}})
    with pytest.raises(ValidationError, match="16 KB"):
        apply_staff_edit(person=person.pk, changes={"attributes": {"note": "x" * 17_000}})
    apply_staff_edit(person=person.pk,
                     changes={"attributes": {f"k{i}": i for i in range(MAX_KEYS)}})
    assert len(Person.objects.get(pk=person.pk).attributes) == MAX_KEYS


def test_a_person_past_the_limits_after_a_merge_can_still_be_edited_smaller():
    big = {f"k{i}": i for i in range(MAX_KEYS + 50)}
    person = PersonFactory(attributes=big)

    apply_staff_edit(person=person.pk, changes={"attributes": {**big, "k0": "changed"}})
    with pytest.raises(ValidationError):
        apply_staff_edit(person=person.pk, changes={"attributes": {**big, "one_more": 1}})

    assert Person.objects.get(pk=person.pk).attributes["k0"] == "changed"


def test_a_user_id_held_by_someone_else_is_refused_by_the_service():
    holder = PersonFactory(user_id=None)
    Identity.objects.create(person=holder, original_person=holder, kind="user_id", value="u-9")
    person = PersonFactory(user_id=None)

    with pytest.raises(ValidationError, match="already belongs to"):
        apply_staff_edit(person=person.pk, changes={"user_id": "u-9"})


def test_staff_email_makes_a_visitor_a_user():
    person = PersonFactory(email="", status="visitor", user_id=None)

    apply_staff_edit(person=person.pk, changes={"email": "new@example.com"})

    assert Person.objects.get(pk=person.pk).status == "user"


@pytest.mark.parametrize("bad", [[1, 2], "text", {"first_touch": "x"}, {"products_viewed": []}])
def test_create_person_checks_attributes(bad):
    with pytest.raises(InvalidInput):
        create_person(name="X", attributes=bad)
    assert not Person.objects.filter(name="X").exists()


def test_create_person_with_a_user_id_gives_it_its_identity():
    person = create_person(user_id=" u-new ", email="n@example.com")

    assert person.user_id == "u-new"
    assert Identity.objects.filter(person=person, kind=IdentityKind.USER_ID,
                                   value="u-new").exists()
    assert identify(anonymous_id="dev-n", user_id="u-new").pk == person.pk


def test_an_email_staff_set_counts_as_staff_even_when_a_visitor_typed_it_first(admin_user):
    from profiles.models import IdentityTrust
    from profiles.services.trust import with_email_trust

    person = PersonFactory(email="")
    Identity.objects.create(person=person, original_person=person, kind=IdentityKind.EMAIL,
                            value="ann@example.com", trust=IdentityTrust.TYPED)
    other = Identity.objects.create(person=person, original_person=person,
                                    kind=IdentityKind.EMAIL, value="old@example.com",
                                    trust=IdentityTrust.TYPED)

    apply_staff_edit(person=person.pk, changes={"email": " Ann@Example.com"}, actor=admin_user)

    identity = person.identities.get(value="ann@example.com")
    assert identity.trust == IdentityTrust.STAFF
    assert identity.history.latest().history_user == admin_user
    assert with_email_trust(Person.objects.filter(pk=person.pk)).get().email_trust == "staff"
    other.refresh_from_db()
    assert other.trust == IdentityTrust.TYPED  # only the address staff set
