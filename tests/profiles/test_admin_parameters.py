"""Crafted or stale admin parameters answer a message or a 4xx, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dedup.models import DedupRun, DedupSchedule
from dedup.services import tick_schedules
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import PREVIEW, messages_of, staff_with

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:profiles_person_changelist")
DUPLICATES = reverse("admin:profiles_person_duplicates")
DELETE_PEOPLE = reverse("admin:profiles_person_delete_people")


@pytest.fixture
def viewer(client):
    client.force_login(staff_with("view_person"))
    return client


@pytest.mark.parametrize("term", ["²", "①", "٣", "12²", "\x00", "9" * 40])
def test_people_search_with_odd_digits_answers(viewer, term):
    PersonFactory(name="Zed")
    response = viewer.get(CHANGELIST, {"q": term})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("query", [{"after": "zzzz"}, {"after": "~"}, {"before": "0"},
                                   {"before": ""}, {"after": "\x00"}, {"by": "phone",
                                                                       "after": "zzzz"},
                                   {"by": "nope", "before": "a" * 5000}])
def test_suspected_duplicates_with_stale_or_crafted_keys_answers(viewer, query):
    PersonFactory(email="ann@example.com")
    PersonFactory(email="ANN@example.com")

    response = viewer.get(DUPLICATES, query, follow=True)

    assert response.status_code == (400 if "\x00" in query.get("after", "") else 200)


def test_a_stale_next_link_says_the_page_is_gone_and_shows_the_first(viewer):
    PersonFactory(email="ann@example.com")
    PersonFactory(email="ANN@example.com")

    response = viewer.get(DUPLICATES, {"after": "zzzz"}, follow=True)

    assert "no longer exists" in " ".join(messages_of(response))
    assert [a.group.key for a in response.context["groups"]] == ["ann@example.com"]


@pytest.mark.parametrize("query", [
    [("ids", "1"), ("ids", "2"), ("base", "99999999")],
    [("ids", "²")], [("ids", "①"), ("ids", "1")], [("ids", "9" * 30), ("ids", "1")],
    [("ids", "1"), ("ids", "2"), ("base", "²")], [("ids", "\x00")],
])
def test_merge_preview_with_crafted_ids_answers_a_message(client, query):
    client.force_login(staff_with("view_person", "merge_person"))
    a, b = PersonFactory(), PersonFactory()
    query = [(key, {"1": str(a.pk), "2": str(b.pk)}.get(value, value)) for key, value in query]

    response = client.get(PREVIEW, query, follow=True)

    assert response.status_code in (200, 400)


def test_merge_preview_with_a_base_that_does_not_exist_says_so(client):
    client.force_login(staff_with("view_person", "merge_person"))
    a, b = PersonFactory(), PersonFactory()

    response = client.get(PREVIEW, [("ids", a.pk), ("ids", b.pk), ("base", 99999999)],
                          follow=True)

    assert "not found" in " ".join(messages_of(response))


@pytest.mark.parametrize("ids", ["²", "①", "9" * 30, "\x00", "-1"])
def test_delete_people_with_crafted_ids_answers(client, ids):
    client.force_login(staff_with("view_person", "delete_person"))
    person = PersonFactory()

    response = client.post(DELETE_PEOPLE, {"ids": [ids, str(person.pk)]})

    assert response.status_code in (200, 302, 400)


def test_a_schedule_every_two_billion_days_is_a_form_error(admin_client):
    schedule = DedupSchedule.objects.get()
    url = reverse("admin:dedup_dedupschedule_change", args=[schedule.pk])

    response = admin_client.post(url, {"name": "Nightly", "enabled": "on",
                                       "every_days": "2147483647", "local_time": "02:00",
                                       "time_zone": "Europe/Paris"})

    assert response.status_code == 200
    assert "every_days" in response.context["adminform"].form.errors
    assert DedupSchedule.objects.get().every_days == 1


def test_one_broken_schedule_does_not_stop_the_beat_tick_for_the_others():
    now = timezone.now()
    DedupSchedule.objects.all().delete()
    broken = DedupSchedule.objects.create(name="Broken", next_run_at=now - dt.timedelta(hours=1))
    DedupSchedule.objects.filter(pk=broken.pk).update(time_zone="Nowhere/Atlantis")
    good = DedupSchedule.objects.create(name="Good", next_run_at=now - dt.timedelta(hours=1))

    runs = tick_schedules(now=now)

    assert len(runs) == 1 and DedupRun.objects.count() == 1
    good.refresh_from_db()
    assert good.last_run_id == runs[0].pk and good.next_run_at > now


@pytest.mark.parametrize("query", [{"name": "\x00"}, {"status__exact": "\x00"},
                                   {"q": "a\x00"}])
def test_a_nul_in_any_admin_parameter_is_a_400(viewer, query):
    response = viewer.get(CHANGELIST, query)
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_nul_in_a_posted_admin_form_is_a_400(client):
    client.force_login(staff_with("view_person", "delete_person"))
    response = client.post(DELETE_PEOPLE, {"ids": ["1"], "reason": "x\x00"})
    assert response.status_code == 400
