"""Staff edits in the admin: only what staff changed is saved, a stale field is refused,
tombstones are read-only, custom attributes are checked and profiling is the system's."""

from __future__ import annotations

import pytest

from profiles.models import Person
from profiles.services import identify, merge_people, track
from profiles.services.merging import invariant_problems
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import change_url, form_data, messages_of, staff_with

pytestmark = pytest.mark.django_db


def opened_form(client, person) -> dict:
    """The person form as staff have it in their browser once the page is open."""
    return form_data(client.get(change_url(person)), "person_form")


def test_a_stale_page_saves_only_the_name_over_a_merge_and_purchases(admin_client):
    person = identify(anonymous_id="dev-b", user_id="u-b", traits={"name": "Bea"})
    track(user_id="u-b", kind="purchase", properties={"amount": 10})
    form = opened_form(admin_client, person)
    # Meanwhile: the device's identify merges in an email, a phone, a plan; purchases arrive.
    track(anonymous_id="dev-2", kind="page_view", properties={"url": "/", "product": "hat"})
    identify(anonymous_id="dev-2", user_id="u-b", email="bea@example.com",
             traits={"phone": "+33 1 23", "plan": "pro"})
    for amount in (100, 100, 100):
        track(user_id="u-b", kind="purchase", properties={"amount": amount})

    response = admin_client.post(change_url(person), {**form, "name": "Beatrice"})

    assert response.status_code == 302
    fresh = Person.objects.get(pk=person.pk)
    assert fresh.name == "Beatrice"
    assert (fresh.email, fresh.phone) == ("bea@example.com", "+33 1 23")
    assert fresh.attributes["plan"] == "pro"
    assert fresh.attributes["products_viewed"] == {"hat": 1}
    assert fresh.attributes["purchases"]["count"] == 4
    assert fresh.attributes["purchases"]["revenue"] == 310


def test_a_field_changed_since_the_page_was_opened_is_refused_with_a_message(admin_client):
    person = PersonFactory(name="Bea", city="Paris")
    form = opened_form(admin_client, person)
    Person.objects.filter(pk=person.pk).update(name="Beatrix")

    response = admin_client.post(change_url(person), {**form, "name": "Bee"}, follow=True)

    text = " ".join(messages_of(response))
    assert "changed since you opened the page" in text and "reload" in text
    assert "Bee" in text  # what staff typed, so they can redo it
    assert Person.objects.get(pk=person.pk).name == "Beatrix"
    assert response.context["adminform"].form["name"].value() == "Beatrix"  # reloaded


def test_an_edit_racing_a_merge_does_not_bring_the_merged_person_back(admin_client):
    base = PersonFactory(name="Base", user_id="u-1")
    other = PersonFactory(name="Other")
    form = opened_form(admin_client, other)
    merge_people(base=base, others=[other], reason="manual")

    response = admin_client.post(change_url(other), {**form, "name": "Renamed"}, follow=True)

    assert response.redirect_chain[-1][0] == change_url(base)
    fresh = Person.objects.get(pk=other.pk)
    assert fresh.merged_into_id == base.pk and fresh.name == "Other"
    assert invariant_problems() == []


def test_a_post_without_the_opened_values_is_refused(admin_client):
    person = PersonFactory(name="Bea", email="bea@example.com")
    form = {key: value for key, value in opened_form(admin_client, person).items()
            if not key.startswith("initial-")}

    response = admin_client.post(change_url(person), {**form, "name": "Bee"})

    assert response.status_code == 200
    assert "reload the page" in str(response.context["adminform"].form.non_field_errors())
    assert Person.objects.get(pk=person.pk).name == "Bea"


def test_a_tombstone_is_read_only(admin_client):
    base = PersonFactory(user_id="u-1")
    tombstone = PersonFactory(name="Tomb", merged_into=base)
    from django.contrib.admin import site

    person_admin = site._registry[Person]
    request = admin_client.get(change_url(base)).wsgi_request
    assert not person_admin.has_change_permission(request, tombstone)
    assert not person_admin.has_delete_permission(request, tombstone)

    admin_client.post(change_url(tombstone), {"name": "Alive", "merged_into": ""})

    assert Person.objects.get(pk=tombstone.pk).merged_into_id == base.pk


@pytest.mark.parametrize("bad", ["[1, 2]", '"a string"', "7", '{"purchases": "n/a"}',
                                 '{"email_offers": 7}', '{"products_viewed": ["a"]}',
                                 '{"first_touch": "x"}'])
def test_malformed_or_system_attributes_are_a_form_error(admin_client, bad):
    person = PersonFactory(attributes={"plan": "pro"})
    form = opened_form(admin_client, person)

    response = admin_client.post(change_url(person), {**form, "attributes": bad})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["attributes"]
    assert Person.objects.get(pk=person.pk).attributes == {"plan": "pro"}


def test_attribute_limits_are_a_form_error(admin_client):
    person = PersonFactory()
    form = opened_form(admin_client, person)

    response = admin_client.post(change_url(person),
                                 {**form, "attributes": '{"note": "%s"}' % ("x" * 17_000)})

    assert "16 KB" in str(response.context["adminform"].form.errors["attributes"])


def test_profiling_is_shown_read_only_and_kept_when_custom_attributes_are_saved(admin_client):
    person = PersonFactory(attributes={"plan": "pro", "purchases": {"count": 2, "revenue": 20}})
    page = admin_client.get(change_url(person))
    form = form_data(page, "person_form")
    assert "purchases" not in form["attributes-name"] and "plan" in form["attributes-name"]
    assert "what Onefold learned from their visits" in page.content.decode()
    assert "2 purchases, 20.00 in total" in page.content.decode()

    response = admin_client.post(change_url(person), {**form, "attributes": '{"plan": "team"}'})

    assert response.status_code == 302
    assert Person.objects.get(pk=person.pk).attributes == {
        "plan": "team", "purchases": {"count": 2, "revenue": 20}}


def test_saving_an_unchanged_page_writes_no_history_row(admin_client):
    person = PersonFactory(name="Bea")
    rows = person.history.count()

    response = admin_client.post(change_url(person), opened_form(admin_client, person))

    assert response.status_code == 302
    assert person.history.count() == rows


def test_support_staff_can_edit_and_view_only_staff_cannot(client):
    person = PersonFactory(name="Bea")
    form = opened_form(_logged_in(client, "view_person", "change_person"), person)
    client.post(change_url(person), {**form, "name": "Bee"})
    assert Person.objects.get(pk=person.pk).name == "Bee"

    client.force_login(staff_with("view_person"))
    response = client.post(change_url(person), {**form, "name": "Hacked",
                                                "initial-name": "Bee"})
    assert response.status_code == 403
    assert Person.objects.get(pk=person.pk).name == "Bee"


def test_adding_a_person_goes_through_create_person(admin_client):
    from django.urls import reverse

    add = reverse("admin:profiles_person_add")
    form = form_data(admin_client.get(add), "person_form")

    response = admin_client.post(add, {**form, "name": "New", "email": "new@example.com",
                                       "user_id": "u-new", "attributes": '{"plan": "pro"}'})

    assert response.status_code == 302
    person = Person.objects.get(user_id="u-new")
    assert person.status == "user" and person.attributes == {"plan": "pro"}
    assert person.identities.filter(kind="user_id", value="u-new").exists()
    bad = admin_client.post(add, {**form, "name": "Bad", "attributes": '{"purchases": 1}'})
    assert bad.status_code == 200 and not Person.objects.filter(name="Bad").exists()


def _logged_in(client, *codenames):
    client.force_login(staff_with(*codenames))
    return client
