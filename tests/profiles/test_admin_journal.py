"""The merge journal admin: read-only list and detail, Undo with confirmation."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from psycopg.errors import DeadlockDetected

from profiles import services
from profiles.models import Activity, MergeRecord, Person
from profiles.services import merge_people
from tests.factories import ActivityFactory, PersonFactory
from tests.profiles.admin_helpers import change_url, messages_of, staff_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(admin_user) -> MergeRecord:
    base = PersonFactory(name="Ann Lee", user_id="u-1", city="")
    dup = PersonFactory(name="Ann L.", city="Lyon")
    ActivityFactory.create_batch(2, person=dup)
    return merge_people(base=base, others=[dup], actor=admin_user, overrides={"name": dup})


def detail_url(record) -> str:
    return reverse("admin:profiles_mergerecord_change", args=[record.pk])


def undo_url(record) -> str:
    return reverse("admin:profiles_mergerecord_undo", args=[record.pk])


def test_journal_list_shows_who_when_why_base_and_merged(admin_client, record):
    response = admin_client.get(reverse("admin:profiles_mergerecord_changelist"))
    content = response.content.decode()
    assert response.status_code == 200
    assert f"(#{record.base_id})" in content and f"(#{record.merged_ids[0]})" in content
    assert "Manual (staff)" in content and "admin" in content


def test_journal_detail_shows_decisions_rows_moved_and_undo(admin_client, record):
    content = admin_client.get(detail_url(record)).content.decode()
    assert "chosen by staff" in content and "Ann L." in content  # the override
    assert "Lyon" in content  # the filled city
    assert "<td>activities</td><td>2</td>" in content  # rows moved, per table
    assert f'href="{undo_url(record)}"' in content
    assert 'name="_save"' not in content  # read-only: no save button


def test_journal_cannot_be_added_changed_or_deleted(admin_client, record):
    assert admin_client.get(reverse("admin:profiles_mergerecord_add")).status_code == 403
    response = admin_client.post(detail_url(record), {"reason": "dedup"})
    assert response.status_code == 403
    delete = reverse("admin:profiles_mergerecord_delete", args=[record.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    record.refresh_from_db()
    assert record.reason == "manual"


def test_undo_page_asks_for_confirmation_and_changes_nothing(admin_client, record):
    response = admin_client.get(undo_url(record))
    assert response.status_code == 200
    assert 'id="confirm-undo"' in response.content.decode()
    record.refresh_from_db()
    assert record.undone_at is None


def test_undo_via_admin_puts_both_people_back(admin_client, record):
    dup = Person.objects.get(pk=record.merged_ids[0])
    response = admin_client.post(undo_url(record), {"post": "yes"})
    assert response.status_code == 302 and response.url == change_url(record.base)
    record.refresh_from_db()
    dup.refresh_from_db()
    assert record.undone_at is not None and record.undone_by.is_superuser
    assert dup.merged_into is None and dup.name == "Ann L."
    assert Activity.objects.filter(person=dup, kind="page_view").count() == 2
    assert record.base.__class__.objects.get(pk=record.base_id).name == "Ann Lee"
    assert "separate again" in messages_of(response)[-1]
    assert LogEntry.objects.filter(object_id=str(record.pk)).exists()


def test_an_undo_that_always_meets_a_deadlock_is_a_message_not_a_500(admin_client, record,
                                                                     monkeypatch):
    def deadlocks(**kwargs):
        error = OperationalError("deadlock detected")
        error.__cause__ = DeadlockDetected("deadlock detected")
        raise error

    monkeypatch.setattr(services, "undo_merge", deadlocks)
    response = admin_client.post(undo_url(record), {"post": "yes"})

    assert response.status_code == 302 and response.url == detail_url(record)
    assert "another request at the same moment" in messages_of(response)[-1]
    record.refresh_from_db()
    assert record.undone_at is None


def test_undo_twice_is_harmless(admin_client, record):
    admin_client.post(undo_url(record), {"post": "yes"})
    again = admin_client.post(undo_url(record), {"post": "yes"})
    assert again.status_code == 302
    assert "already undone" in messages_of(again)[-1]


def test_undo_needs_the_undo_permission(client, record):
    client.force_login(staff_with("view_mergerecord", "view_person", "merge_person"))
    assert client.get(detail_url(record)).status_code == 200
    assert undo_url(record) not in client.get(detail_url(record)).content.decode()
    assert client.get(undo_url(record)).status_code == 403
    assert client.post(undo_url(record), {"post": "yes"}).status_code == 403
    record.refresh_from_db()
    assert record.undone_at is None


def test_staff_with_undo_permission_can_undo(client, record):
    client.force_login(staff_with("view_mergerecord", "view_person", "undo_merge"))
    client.post(undo_url(record), {"post": "yes"})
    record.refresh_from_db()
    assert record.undone_at is not None


def test_undo_without_csrf_token_is_refused(record, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(undo_url(record), {"post": "yes"}).status_code == 403
    record.refresh_from_db()
    assert record.undone_at is None


def test_undo_that_cannot_be_exact_is_refused_with_a_message(admin_client, record):
    later = PersonFactory(name="Someone")
    merge_people(base=later, others=[record.base_id])  # the base itself was merged since
    response = admin_client.post(undo_url(record), {"post": "yes"})
    assert response.status_code == 302 and response.url == detail_url(record)
    assert "Could not undo" in messages_of(response)[-1]
    record.refresh_from_db()
    assert record.undone_at is None


def test_journal_entry_of_a_deleted_person_still_renders(admin_client, record):
    MergeRecord.objects.filter(pk=record.pk).update(merged_ids=[record.merged_ids[0], 999999])
    content = admin_client.get(detail_url(record)).content.decode()
    assert "#999999 (deleted)" in content
