"""The identity admin: user ID identities are managed only through the person's user ID."""

from __future__ import annotations

import pytest
from django.urls import reverse

from profiles.models import Identity, Person
from profiles.services import track
from tests.factories import IdentityFactory, PersonFactory
from tests.profiles.admin_helpers import form_data

pytestmark = pytest.mark.django_db


def change(identity) -> str:
    return reverse("admin:profiles_identity_change", args=[identity.pk])


def test_a_user_id_identity_cannot_be_moved_to_another_person(admin_client):
    owner = PersonFactory(user_id="u-1")
    identity = IdentityFactory(person=owner, kind="user_id", value="u-1")
    other = PersonFactory()

    response = admin_client.post(change(identity), {"person": other.pk, "kind": "user_id",
                                                    "value": "u-1"})

    assert response.status_code == 403
    assert Identity.objects.get(pk=identity.pk).person_id == owner.pk
    assert track(user_id="u-1", kind="page_view").person_id == owner.pk


def test_a_user_id_identity_page_is_read_only_and_cannot_be_deleted(admin_client):
    identity = IdentityFactory(person=PersonFactory(user_id="u-1"), kind="user_id", value="u-1")

    page = admin_client.get(change(identity))
    delete = admin_client.post(reverse("admin:profiles_identity_delete", args=[identity.pk]),
                               {"post": "yes"})

    assert page.status_code == 200 and not page.context["adminform"].form.fields
    assert delete.status_code == 403 and Identity.objects.filter(pk=identity.pk).exists()


def test_no_user_id_identity_is_added_in_the_identity_admin(admin_client):
    person = PersonFactory(user_id=None)
    add = reverse("admin:profiles_identity_add")
    assert "user_id" not in dict(admin_client.get(add).context["adminform"].form
                                 .fields["kind"].choices)

    response = admin_client.post(add, {"person": person.pk, "kind": "user_id", "value": "u-x"})

    assert response.status_code == 200 and response.context["adminform"].form.errors["kind"]
    assert not Identity.objects.filter(value="u-x").exists()


def test_a_device_cannot_become_a_user_id(admin_client):
    device = IdentityFactory(kind="anonymous_id", value="dev-1")
    data = form_data(admin_client.get(change(device)), "identity_form")

    response = admin_client.post(change(device), {**data, "kind": "user_id"})

    assert response.status_code == 200
    assert Identity.objects.get(pk=device.pk).kind == "anonymous_id"


def test_a_device_can_be_moved_by_staff_with_change_permission_to_a_live_person(admin_client):
    device = IdentityFactory(kind="anonymous_id", value="dev-1")
    target = PersonFactory()
    tombstone = PersonFactory(merged_into=target)
    data = form_data(admin_client.get(change(device)), "identity_form")

    refused = admin_client.post(change(device), {**data, "person": tombstone.pk})
    moved = admin_client.post(change(device), {**data, "person": target.pk})

    assert refused.status_code == 200 and refused.context["adminform"].form.errors["person"]
    assert moved.status_code == 302
    assert Identity.objects.get(pk=device.pk).person_id == target.pk


def test_an_email_identity_added_by_staff_is_normalized(admin_client):
    person = PersonFactory()
    admin_client.post(reverse("admin:profiles_identity_add"),
                      {"person": person.pk, "kind": "email", "value": "  Ann@Example.COM "})
    identity = Identity.objects.get(person=person, kind="email")
    assert identity.value == "ann@example.com" and identity.original_person_id == person.pk
    assert Person.objects.filter(pk=person.pk).exists()
