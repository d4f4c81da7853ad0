"""History is for reading: simple-history's revert form never saves a person or an identity."""

from __future__ import annotations

import pytest
from django.urls import reverse

from profiles.models import Identity, Person
from profiles.services import merge_people
from profiles.services.merging import invariant_problems
from tests.factories import IdentityFactory, PersonFactory
from tests.profiles.admin_helpers import form_data, staff_with

pytestmark = pytest.mark.django_db


def history_url(obj, history_id) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_simple_history",
                   args=[obj.pk, history_id])


def revert_form(client, obj, history_id, **changes) -> dict:
    """The revert form as simple-history renders it for a superuser, with `changes` typed."""
    from django.test import Client

    from tests.factories import UserFactory

    reader = Client()
    reader.force_login(UserFactory(username="history-reader", is_superuser=True))
    data = form_data(reader.get(history_url(obj, history_id)))
    return {**data, **changes, "_save": "Revert"}


def test_view_only_staff_cannot_edit_a_person_through_its_history(client):
    person = PersonFactory(name="Victim", email="v@example.com", attributes={"plan": "pro"})
    old = person.history.latest()
    client.force_login(staff_with("view_person"))

    response = client.post(history_url(person, old.history_id), {
        "name": "Hacked", "email": "evil@example.com", "status": "user", "attributes": "{}",
    })

    assert response.status_code in (403, 405)
    fresh = Person.objects.get(pk=person.pk)
    assert (fresh.name, fresh.email, fresh.attributes) == ("Victim", "v@example.com",
                                                           {"plan": "pro"})


def test_view_only_staff_cannot_move_an_identity_through_its_history(client):
    victim = PersonFactory()
    attacker = PersonFactory()
    device = IdentityFactory(person=victim, kind="anonymous_id", value="victim-device")
    old = device.history.latest()
    client.force_login(staff_with("view_identity"))

    response = client.post(history_url(device, old.history_id),
                           {"person": attacker.pk, "kind": "anonymous_id",
                            "value": "victim-device"})

    assert response.status_code in (403, 405)
    assert Identity.objects.get(pk=device.pk).person_id == victim.pk


def test_no_one_brings_a_tombstone_back_through_history(admin_client):
    base = PersonFactory(user_id="u-1")
    other = PersonFactory(name="Other")
    before_merge = other.history.latest()
    merge_people(base=base, others=[other], reason="manual")

    data = revert_form(admin_client, other, before_merge.history_id)
    response = admin_client.post(history_url(other, before_merge.history_id), data)

    assert response.status_code == 405
    assert Person.objects.get(pk=other.pk).merged_into_id == base.pk
    assert invariant_problems() == []


def test_no_one_reverts_a_merged_base_to_before_the_merge(admin_client):
    base = PersonFactory(user_id="u-1", page_views=38)
    other = PersonFactory(page_views=22)
    before_merge = base.history.latest()
    merge_people(base=base, others=[other], reason="manual")

    data = revert_form(admin_client, base, before_merge.history_id)
    response = admin_client.post(history_url(base, before_merge.history_id), data)

    assert response.status_code == 405
    assert Person.objects.get(pk=base.pk).page_views == 60


def test_history_pages_are_readable_with_view_permission_and_show_no_revert(client):
    person = PersonFactory(name="Reader")
    client.force_login(staff_with("view_person"))

    listing = client.get(reverse("admin:profiles_person_history", args=[person.pk]))
    version = client.get(history_url(person, person.history.latest().history_id))

    assert listing.status_code == 200 and version.status_code == 200
    assert 'value="Revert"' not in version.content.decode()
    assert not version.context["adminform"].form.fields  # every field read-only


def test_even_a_superuser_history_view_has_no_editable_fields(admin_client):
    person = PersonFactory(name="Reader")
    version = admin_client.get(history_url(person, person.history.latest().history_id))
    assert version.status_code == 200
    assert not version.context["adminform"].form.fields
    assert "Reader" in version.content.decode()
