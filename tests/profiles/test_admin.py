import pytest
from django.urls import reverse

from profiles.models import Activity
from tests.factories import (
    ActivityFactory,
    AnonymousPersonFactory,
    IdentityFactory,
    PersonFactory,
    PersonTagFactory,
)
from tests.profiles.admin_helpers import form_data

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:profiles_person_changelist")


def change_url(person):
    return reverse("admin:profiles_person_change", args=[person.pk])


def test_person_list_renders_people_with_avatar_and_columns(admin_client):
    PersonFactory(name="Ann Lee", email="ann@example.com", user_id="u-1")
    AnonymousPersonFactory(name="Amber Otter")
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Ann Lee" in content and "u-1" in content and "Amber Otter" in content
    assert "data:image/svg+xml;base64," in content


@pytest.mark.parametrize(
    ("term", "expected"),
    [("ann", "Ann Lee"), ("ANN@EXAMPLE", "Ann Lee"), ("u-77", "Ann Lee"),
     ("device-abc", "Amber Otter")],
)
def test_person_search_finds_by_name_email_user_id_and_identity(admin_client, term, expected):
    ann = PersonFactory(name="Ann Lee", email="ann@example.com", user_id="u-77")
    otter = AnonymousPersonFactory(name="Amber Otter")
    IdentityFactory(person=otter, kind="anonymous_id", value="device-abc")
    response = admin_client.get(CHANGELIST, {"q": term})
    people = list(response.context["cl"].result_list)
    assert [p.display_name for p in people] == [expected]
    assert {p.pk for p in people} <= {ann.pk, otter.pk}


def test_search_by_id_number(admin_client):
    person = PersonFactory(name="Zed")
    PersonFactory(name="Other")
    response = admin_client.get(CHANGELIST, {"q": str(person.pk)})
    assert [p.pk for p in response.context["cl"].result_list] == [person.pk]


def test_list_shows_live_people_by_default_and_tombstones_on_request(admin_client):
    base = PersonFactory(name="Base")
    tombstone = PersonFactory(name="Tomb", merged_into=base)
    live = admin_client.get(CHANGELIST).context["cl"].result_list
    merged = admin_client.get(CHANGELIST, {"merged": "merged"}).context["cl"].result_list
    assert [p.pk for p in live] == [base.pk]
    assert [p.pk for p in merged] == [tombstone.pk]


def test_filters_by_status_and_anonymous(admin_client):
    user = PersonFactory(status="user")
    anonymous = AnonymousPersonFactory()
    by_status = admin_client.get(CHANGELIST, {"status__exact": "user"}).context["cl"]
    by_anon = admin_client.get(CHANGELIST, {"identified": "anonymous"}).context["cl"]
    assert [p.pk for p in by_status.result_list] == [user.pk]
    assert [p.pk for p in by_anon.result_list] == [anonymous.pk]


def test_person_page_has_sidebar_with_identities_tags_and_counters(admin_client):
    person = PersonFactory(name="Maya", page_views=12, visits=3)
    IdentityFactory(person=person, kind="anonymous_id", value="maya-phone")
    PersonTagFactory(person=person, tag__name="vip")
    response = admin_client.get(change_url(person))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="content-related"' in content
    assert "maya-phone" in content and "vip" in content
    assert f"<strong>{person.pk}</strong>" in content
    assert ">12<" in content


def test_timeline_is_paginated_newest_first(admin_client):
    person = PersonFactory()
    ActivityFactory.create_batch(60, person=person)
    newest = Activity.objects.filter(person=person).order_by("-occurred_at", "-id").first()
    first = admin_client.get(change_url(person))
    page = first.context["timeline_page"]
    assert len(page.object_list) == 25 and page.paginator.num_pages == 3
    assert page.object_list[0] == newest
    last = admin_client.get(change_url(person), {"timeline_page": 3})
    assert len(last.context["timeline_page"].object_list) == 10
    assert first.content.decode().count('class="timeline-row"') == 25


def test_merged_person_page_redirects_to_its_base_with_a_message(admin_client):
    base = PersonFactory(name="Base")
    middle = PersonFactory(merged_into=base)
    tombstone = PersonFactory(merged_into=middle)
    response = admin_client.get(change_url(tombstone), follow=True)
    assert response.redirect_chain[-1][0] == change_url(base)
    assert "was merged into" in " ".join(str(m) for m in response.context["messages"])


def _edit_form(client, person, **changes):
    """The person form as the page shows it (with its opened values), with `changes` typed."""
    return {**form_data(client.get(change_url(person)), "person_form"), **changes}


def test_staff_setting_an_email_makes_a_visitor_a_user_and_records_who(admin_client, admin_user):
    person = AnonymousPersonFactory(name="Amber Otter")
    data = _edit_form(admin_client, person, email="amber@example.com")
    response = admin_client.post(change_url(person), data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.status == "user" and person.email == "amber@example.com"
    record = person.history.latest()
    assert record.history_user == admin_user and record.history_change_reason == "edited by staff"


def test_staff_changing_a_user_id_moves_its_identity_and_records_who(admin_client, admin_user):
    person = PersonFactory(user_id="u-old", status="user")
    IdentityFactory(person=person, kind="user_id", value="u-old")

    data = _edit_form(admin_client, person, user_id=" u-new ")
    response = admin_client.post(change_url(person), data)

    assert response.status_code == 302
    person.refresh_from_db()
    assert person.user_id == "u-new"
    held = person.identities.filter(kind="user_id")
    assert [identity.value for identity in held] == ["u-new"]
    added = held.get().history.latest()
    assert added.history_user == admin_user and added.history_change_reason == "edited by staff"


def test_a_user_id_another_person_holds_as_an_identity_is_a_form_error(admin_client):
    holder = PersonFactory(name="Holder Hare", user_id="u-1", status="user")
    IdentityFactory(person=holder, kind="user_id", value="u-2")  # added in the identity admin
    person = PersonFactory(user_id=None)

    data = _edit_form(admin_client, person, user_id="u-2")
    response = admin_client.post(change_url(person), data)

    assert response.status_code == 200  # the form again, not a database error
    assert "already belongs to Holder Hare" in str(response.context["adminform"].form.errors)
    person.refresh_from_db()
    assert person.user_id is None and not person.identities.filter(kind="user_id").exists()


def test_activity_admin_is_read_only(admin_client):
    activity = ActivityFactory()
    assert admin_client.get(reverse("admin:profiles_activity_changelist")).status_code == 200
    url = reverse("admin:profiles_activity_change", args=[activity.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"kind": "note"}).status_code == 403
    assert admin_client.get(reverse("admin:profiles_activity_add")).status_code == 403


@pytest.mark.parametrize("model", ["identity", "tag", "activity"])
def test_other_admins_render(admin_client, model):
    IdentityFactory()
    PersonTagFactory()
    assert admin_client.get(reverse(f"admin:profiles_{model}_changelist")).status_code == 200


def test_support_staff_group_has_support_permissions():
    from django.contrib.auth.models import Group

    codenames = set(
        Group.objects.get(name="Support staff").permissions.values_list("codename", flat=True)
    )
    assert {"merge_person", "undo_merge", "delete_person", "run_dedup"} <= codenames
    assert "delete_activity" not in codenames
