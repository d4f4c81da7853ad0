"""Suspected duplicates: the selectors, the admin view, and selective delete from it."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.urls import reverse

from profiles.models import Activity, Person
from profiles.selectors.duplicates import (
    duplicate_groups,
    duplicate_keys,
    suspected_duplicates_of,
)
from profiles.services import merge_people
from tests.factories import ActivityFactory, IdentityFactory, PersonFactory
from tests.profiles.admin_helpers import PREVIEW, messages_of, staff_with

pytestmark = pytest.mark.django_db

DUPLICATES = reverse("admin:profiles_person_duplicates")
DELETE = reverse("admin:profiles_person_delete_people")


def test_suspects_share_email_phone_or_name_and_city():
    ann = PersonFactory(name="Ann Lee", email="Ann@Example.com", phone="+331", city="Paris")
    same_email = PersonFactory(email=" ann@example.com")
    same_phone = PersonFactory(phone="+331")
    same_name_city = PersonFactory(name="Ann Lee", city="Paris")
    PersonFactory(name="Ann Lee", city="Lyon")  # same name, other city: not a suspect
    gone = PersonFactory(email="ann@example.com")
    merge_people(base=same_email, others=[gone])
    suspects = {s.person.pk: s.reasons for s in suspected_duplicates_of(ann)}
    assert suspects == {
        same_email.pk: ["same email"],
        same_phone.pk: ["same phone"],
        same_name_city.pk: ["same name and city"],
    }


def test_groups_are_live_people_sharing_an_email_or_phone():
    a1 = PersonFactory(email="a@x.io")
    a2 = PersonFactory(email="A@x.io")
    a3 = PersonFactory(email="a@x.io")
    merge_people(base=a1, others=[a3])  # a3 is a tombstone now
    PersonFactory(email="single@x.io")
    p1 = PersonFactory(phone="555")
    p2 = PersonFactory(phone="555")
    assert list(duplicate_keys("email").order_by("email_normalized")) == ["a@x.io"]
    [group] = duplicate_groups("email", ["a@x.io"])
    assert [p.pk for p in group.people] == [a1.pk, a2.pk]
    assert list(duplicate_keys("phone").order_by("phone")) == ["555"]
    assert [p.pk for p in duplicate_groups("phone", ["555"])[0].people] == [p1.pk, p2.pk]


def test_view_lists_groups_with_checkboxes_and_a_merge_link(admin_client):
    one = PersonFactory(email="dup@x.io")
    two = PersonFactory(email="dup@x.io")
    response = admin_client.get(DUPLICATES)
    content = response.content.decode()
    assert response.status_code == 200
    assert f'name="ids" value="{one.pk}"' in content and f'name="ids" value="{two.pk}"' in content
    assert f"{PREVIEW}?ids={one.pk}&amp;ids={two.pk}" in content
    assert 'id="delete-selected-duplicates"' in content


def test_view_groups_by_phone_on_request(admin_client):
    PersonFactory(phone="777")
    PersonFactory(phone="777")
    response = admin_client.get(DUPLICATES, {"by": "phone"})
    assert [a.group.key for a in response.context["groups"]] == ["777"]


def test_view_is_paged_by_key_forward_and_back(admin_client):
    for n in range(27):
        PersonFactory.create_batch(2, email=f"g{n:02d}@x.io")
    first = admin_client.get(DUPLICATES)
    assert len(first.context["groups"]) == 25 and first.context["page"].has_next
    second = admin_client.get(DUPLICATES, {"after": first.context["page"].next_after})
    assert [a.group.key for a in second.context["groups"]] == ["g25@x.io", "g26@x.io"]
    assert not second.context["page"].has_next
    back = admin_client.get(DUPLICATES, {"before": second.context["page"].previous_before})
    assert [a.group.key for a in back.context["groups"]][0] == "g00@x.io"
    assert len(back.context["groups"]) == 25 and not back.context["page"].has_previous


def test_linked_from_the_person_changelist(admin_client):
    content = admin_client.get(reverse("admin:profiles_person_changelist")).content.decode()
    assert f'href="{DUPLICATES}"' in content


def test_delete_confirmation_lists_each_person_and_what_goes_with_them(admin_client):
    person = PersonFactory(email="dup@x.io")
    ActivityFactory.create_batch(4, person=person)
    IdentityFactory.create_batch(2, person=person)
    response = admin_client.post(DELETE, {"ids": [person.pk], "next": DUPLICATES})
    content = response.content.decode()
    assert response.status_code == 200
    assert f"(#{person.pk})" in content
    assert "Activities: 4" in content and "Identities: 2" in content
    assert Person.objects.filter(pk=person.pk).exists()  # the first pass deletes nothing


def test_confirmed_delete_removes_and_records_it(admin_client, admin_user):
    person = PersonFactory(email="dup@x.io")
    other = PersonFactory(email="dup@x.io")
    ActivityFactory.create_batch(2, person=person)
    response = admin_client.post(DELETE, {
        "ids": [person.pk], "post": "yes", "next": DUPLICATES, "reason": "spam signup",
    })
    assert response.status_code == 302 and response.url == DUPLICATES
    assert not Person.objects.filter(pk=person.pk).exists()
    assert Person.objects.filter(pk=other.pk).exists()
    assert not Activity.objects.filter(person_id=person.pk).exists()
    entry = LogEntry.objects.get(object_id=str(person.pk))
    assert entry.action_flag == DELETION and entry.user == admin_user
    history = Person.history.filter(id=person.pk, history_type="-").get()
    assert history.history_user == admin_user and history.history_change_reason == "spam signup"
    assert "Deleted 1 person" in messages_of(response)[-1]


def test_delete_needs_the_delete_permission(client):
    person = PersonFactory()
    client.force_login(staff_with("view_person", "change_person", "merge_person"))
    assert client.post(DELETE, {"ids": [person.pk]}).status_code == 403
    assert client.post(DELETE, {"ids": [person.pk], "post": "yes"}).status_code == 403
    assert Person.objects.filter(pk=person.pk).exists()
    assert 'id="delete-selected-duplicates"' not in client.get(DUPLICATES).content.decode()


def test_delete_by_get_changes_nothing(admin_client):
    person = PersonFactory()
    assert admin_client.get(DELETE, {"ids": [person.pk], "post": "yes"}).status_code == 405
    assert Person.objects.filter(pk=person.pk).exists()


def test_resent_delete_form_is_harmless(admin_client):
    person = PersonFactory()
    data = {"ids": [person.pk], "post": "yes"}
    admin_client.post(DELETE, data)
    again = admin_client.post(DELETE, data)
    assert again.status_code == 302 and "already deleted" in messages_of(again)[-1]


def test_changelist_delete_action_uses_the_same_confirmation(admin_client):
    base = PersonFactory(user_id="u-1")
    dup = PersonFactory()
    merge_people(base=base, others=[dup])
    response = admin_client.post(reverse("admin:profiles_person_changelist"), {
        "action": "delete_selected_people", "_selected_action": [base.pk],
    })
    content = response.content.decode()
    assert response.status_code == 200 and "Merged profile" in content and f"#{dup.pk}" in content
    assert "Merge journal entries: 1" in content


def test_person_delete_page_is_the_deletion_confirmation(admin_client):
    base = PersonFactory(user_id="u-1")
    dup = PersonFactory()
    merge_people(base=base, others=[dup])
    response = admin_client.get(reverse("admin:profiles_person_delete", args=[base.pk]))
    assert response.status_code == 200 and 'id="confirm-delete"' in response.content.decode()
    admin_client.post(DELETE, {"ids": [base.pk], "post": "yes"})
    assert not Person.objects.filter(pk__in=[base.pk, dup.pk]).exists()


def test_linked_from_the_admin_index(admin_client):
    content = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{DUPLICATES}"' in content
    assert 'id="profiles-shortcuts"' in content and "app-profiles" in content  # apps still listed


def test_groups_share_one_column_layout_and_actions_sit_above_and_below(admin_client):
    for n in range(3):
        for variant in (f"g{n}@example.com", f"G{n}@example.com"):
            PersonFactory(email=variant)

    html = admin_client.get(DUPLICATES).content.decode()

    assert html.count('<col class="email">') == 3  # same widths in every group's table
    assert "table-layout: fixed" in html
    assert 'id="duplicates-actions-top"' in html and 'id="duplicates-actions-bottom"' in html
    top = html.index('id="duplicates-actions-top"')
    bottom = html.index('id="duplicates-actions-bottom"')
    first_group, last_group = html.index('class="module dup-group"'), html.rindex("dup-group")
    assert top < first_group and last_group < bottom
    assert 'id="delete-selected-duplicates-top"' in html
    assert 'id="delete-selected-duplicates"' in html
