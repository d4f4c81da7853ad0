"""The admin merge flow: pick, preview, confirm; security, double submit, refusals."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from psycopg.errors import DeadlockDetected

from profiles import services
from profiles.models import Activity, MergeRecord, Person
from profiles.services.merging import rule_text
from tests.factories import ActivityFactory, PersonFactory
from tests.profiles.admin_helpers import (
    PREVIEW,
    change_url,
    messages_of,
    pick_url,
    staff_with,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    """A user-ID holder (the rule's base) and a duplicate with a different city and phone."""
    base = PersonFactory(name="Ann Lee", email="ann@example.com", user_id="u-1", city="Paris",
                         phone="", attributes={"plan": "pro"})
    dup = PersonFactory(name="Ann Lee", email="ANN@example.com ", city="Lyon",
                        phone="+33 1 23", attributes={"plan": "free", "lang": "fr"})
    ActivityFactory.create_batch(3, person=dup)
    return base, dup


def confirm_data(base, dup, **choices) -> dict:
    """What the preview form posts: ids, base, the rule's defaults and the chosen radios."""
    data = {"ids": [base.pk, dup.pk], "base": base.pk, "post": "yes"}
    for field, person in choices.items():
        data[f"choice:{field}"] = person.pk
        data[f"default:{field}"] = base.pk
    return data


def test_person_page_has_a_merge_button_and_suspected_duplicates(admin_client, pair):
    base, dup = pair
    content = admin_client.get(change_url(base)).content.decode()
    assert f'href="{pick_url(base)}"' in content
    assert 'id="person-suspects"' in content and f"(#{dup.pk})" in content
    assert "same email" in content


def test_pick_page_offers_autocomplete_and_one_click_suggestions(admin_client, pair):
    base, dup = pair
    response = admin_client.get(pick_url(base))
    assert response.status_code == 200
    content = response.content.decode()
    assert "admin-autocomplete" in content and 'name="ids"' in content
    assert f"ids={base.pk}&amp;ids={dup.pk}" in content


def test_autocomplete_for_the_picker_offers_only_live_people(admin_client, pair):
    base, dup = pair
    gone = PersonFactory(name="Ann Gone")
    gone.merged_into = base
    gone.save()
    response = admin_client.get(reverse("admin:autocomplete"), {
        "term": "Ann", "app_label": "profiles", "model_name": "person",
        "field_name": "merged_into",
    })
    ids = {int(item["id"]) for item in response.json()["results"]}
    assert {base.pk, dup.pk} <= ids and gone.pk not in ids


def test_preview_get_changes_nothing_and_preselects_the_rule_winners(admin_client, pair):
    base, dup = pair
    response = admin_client.get(PREVIEW, {"ids": [dup.pk, base.pk]})
    assert response.status_code == 200
    assert response.context["base"] == base  # the user ID holder survives by the rules
    rows = {row.field: row for row in response.context["rows"]}
    assert rows["city"].default_id == base.pk and rows["city"].result == "Paris"
    assert rows["phone"].default_id == dup.pk and rows["phone"].result == "+33 1 23"
    assert rows["attributes.lang"].result == "fr"
    assert rows["city"].choosable and not rows["page_views"].choosable
    content = response.content.decode()
    assert f'name="choice:city" value="{base.pk}" id="choice:city-{base.pk}" checked' in content
    assert MergeRecord.objects.count() == 0
    assert Person.objects.filter(merged_into__isnull=False).count() == 0


def test_preview_can_switch_the_base(admin_client, pair):
    base, dup = pair
    response = admin_client.get(PREVIEW, {"ids": [base.pk, dup.pk], "base": dup.pk})
    assert response.context["base"] == dup


def test_confirm_merges_with_a_staff_override_and_links_the_journal(admin_client, pair):
    base, dup = pair
    response = admin_client.post(PREVIEW, confirm_data(base, dup, city=dup))
    assert response.status_code == 302 and response.url == change_url(base)
    record = MergeRecord.objects.get()
    base.refresh_from_db()
    dup.refresh_from_db()
    assert base.city == "Lyon" and base.phone == "+33 1 23"
    assert rule_text(record.decisions["city"]["rule"]) == "chosen by staff"
    assert rule_text(record.decisions["phone"]["rule"]) != "chosen by staff"  # unchanged radios
    assert dup.merged_into == base
    assert Activity.objects.filter(person=base, kind="page_view").count() == 3
    [message] = messages_of(response)
    assert reverse("admin:profiles_mergerecord_change", args=[record.pk]) in message
    assert reverse("admin:profiles_mergerecord_undo", args=[record.pk]) in message
    assert LogEntry.objects.filter(object_id=str(base.pk), action_flag=CHANGE).exists()
    assert LogEntry.objects.filter(object_id=str(dup.pk), action_flag=CHANGE).exists()
    assert record.actor.is_superuser and record.reason == "manual"


def test_double_submit_is_harmless(admin_client, pair):
    base, dup = pair
    admin_client.post(PREVIEW, confirm_data(base, dup))
    again = admin_client.post(PREVIEW, confirm_data(base, dup))
    assert again.status_code == 302 and again.url == change_url(base)
    assert "already merged" in messages_of(again)[-1]
    assert MergeRecord.objects.count() == 1


def _deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = DeadlockDetected("deadlock detected")
    return error


def test_a_merge_that_meets_a_deadlock_is_redone(admin_client, pair, monkeypatch):
    base, dup = pair
    real, calls = services.merge_people, []

    def deadlocks_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise _deadlock()  # what PostgreSQL does to one of two crossing transactions
        return real(**kwargs)

    monkeypatch.setattr(services, "merge_people", deadlocks_once)
    response = admin_client.post(PREVIEW, confirm_data(base, dup))

    assert response.status_code == 302 and len(calls) == 2
    assert MergeRecord.objects.count() == 1 and Person.objects.get(pk=dup.pk).merged_into == base


def test_a_merge_that_always_meets_a_deadlock_is_a_message_not_a_500(admin_client, pair,
                                                                      monkeypatch):
    base, dup = pair

    def deadlocks(**kwargs):
        raise _deadlock()

    monkeypatch.setattr(services, "merge_people", deadlocks)
    response = admin_client.post(PREVIEW, confirm_data(base, dup))

    assert response.status_code == 302 and response.url == change_url(base)
    assert "another request at the same moment" in messages_of(response)[-1]
    assert MergeRecord.objects.count() == 0 and Person.objects.get(pk=dup.pk).merged_into is None


def test_refused_merge_shows_the_reason_and_writes_nothing(admin_client):
    one = PersonFactory(user_id="u-1")
    two = PersonFactory(user_id="u-2")
    response = admin_client.post(PREVIEW, {"ids": [one.pk, two.pk], "post": "yes"})
    assert response.status_code == 302
    assert "different user IDs" in messages_of(response)[-1]
    assert MergeRecord.objects.count() == 0
    assert Person.objects.filter(merged_into__isnull=False).count() == 0


def test_refused_preview_explains_instead_of_failing(admin_client):
    one = PersonFactory(user_id="u-1")
    two = PersonFactory(user_id="u-2")
    response = admin_client.get(PREVIEW, {"ids": [one.pk, two.pk]}, follow=True)
    assert response.status_code == 200
    assert any("different user IDs" in m for m in messages_of(response))


def test_preview_of_one_person_asks_for_another(admin_client, pair):
    base, _dup = pair
    response = admin_client.get(PREVIEW, {"ids": [base.pk]})
    assert response.status_code == 302 and response.url == pick_url(base)


def test_post_without_csrf_token_is_refused(pair, admin_user):
    base, dup = pair
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(PREVIEW, confirm_data(base, dup))
    assert response.status_code == 403
    assert MergeRecord.objects.count() == 0


@pytest.mark.parametrize("method", ["pick", "preview", "confirm"])
def test_staff_without_merge_permission_gets_403(client, pair, method):
    base, dup = pair
    client.force_login(staff_with("view_person", "change_person"))
    if method == "pick":
        response = client.get(pick_url(base))
    elif method == "preview":
        response = client.get(PREVIEW, {"ids": [base.pk, dup.pk]})
    else:
        response = client.post(PREVIEW, confirm_data(base, dup))
    assert response.status_code == 403
    assert MergeRecord.objects.count() == 0


def test_staff_with_merge_permission_can_merge(client, pair):
    base, dup = pair
    client.force_login(staff_with("view_person", "merge_person"))
    assert client.get(PREVIEW, {"ids": [base.pk, dup.pk]}).status_code == 200
    client.post(PREVIEW, confirm_data(base, dup))
    assert MergeRecord.objects.filter(base=base, merged_ids=[dup.pk]).exists()


def test_merge_button_hidden_without_permission(client, pair):
    base, _dup = pair
    client.force_login(staff_with("view_person"))
    assert pick_url(base) not in client.get(change_url(base)).content.decode()


def test_changelist_action_leads_to_the_preview_with_the_rule_base(admin_client, pair):
    base, dup = pair
    response = admin_client.post(reverse("admin:profiles_person_changelist"), {
        "action": "merge_selected", "_selected_action": [dup.pk, base.pk],
    })
    assert response.status_code == 302 and response.url.startswith(PREVIEW)
    preview = admin_client.get(response.url)
    assert preview.context["base"] == base
    assert MergeRecord.objects.count() == 0


def test_changelist_action_needs_two_people(admin_client, pair):
    base, _dup = pair
    response = admin_client.post(reverse("admin:profiles_person_changelist"), {
        "action": "merge_selected", "_selected_action": [base.pk],
    }, follow=True)
    assert any("at least two" in m for m in messages_of(response))


def test_merge_action_not_offered_without_permission(client, pair):
    client.force_login(staff_with("view_person", "change_person"))
    response = client.get(reverse("admin:profiles_person_changelist"))
    assert "merge_selected" not in response.content.decode()


def test_three_people_merge_with_a_value_from_the_third(admin_client):
    base = PersonFactory(name="Ann", user_id="u-1", company="")
    second = PersonFactory(name="Ann B", company="Acme")
    third = PersonFactory(name="Ann C", company="Globex")
    preview = admin_client.get(PREVIEW, {"ids": [third.pk, second.pk, base.pk]})
    company = next(row for row in preview.context["rows"] if row.field == "company")
    assert len(company.cells) == 3 and company.choosable
    default = company.default_id
    response = admin_client.post(PREVIEW, {
        "ids": [base.pk, second.pk, third.pk], "base": base.pk, "post": "yes",
        "choice:company": third.pk, "default:company": default,
    })
    assert response.status_code == 302
    base.refresh_from_db()
    assert base.company == "Globex"
    assert set(MergeRecord.objects.get().merged_ids) == {second.pk, third.pk}
