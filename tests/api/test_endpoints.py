"""The website API endpoints: identify, track, chat, batch — the happy paths and idempotency."""

from __future__ import annotations

import pytest

from profiles.models import Activity, Conversation, MergeRecord, Person, PersonStatus
from profiles.services.sites import issue_site_key
from tests.api.conftest import row_counts
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def test_track_creates_an_anonymous_profile(post, site):
    response = post("track", {"anonymous_id": "dev-1", "kind": "page_view",
                              "properties": {"path": "/"}})

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    person = Person.objects.get()
    assert person.is_anonymous and person.page_views == 1
    assert Activity.objects.get().site_id == site.pk


def test_track_message_id_makes_a_retry_idempotent(post):
    event = {"anonymous_id": "dev-1", "kind": "page_view", "message_id": "m-1"}
    first = post("track", event).json()
    retry = post("track", event).json()

    assert retry == first == {"ok": True}  # a resend is answered as the first was
    assert Activity.objects.count() == 1 and Person.objects.get().page_views == 1


def test_message_ids_are_each_sites_own(post, site):
    other = SiteFactory(require_identity_verification=False)
    other_key = issue_site_key(site=other)
    for path, body in (
        ("track", {"kind": "page_view", "message_id": "m-1"}),
        ("chat", {"text": "hello", "message_id": "c-1"}),
        ("batch", {"batch": [{"type": "track", "kind": "event", "message_id": "b-1",
                              "properties": {"name": "Paid"}}]}),
    ):
        def send(key: str, body=body, path=path):
            if path == "batch":
                body = {"batch": [{**body["batch"][0], "anonymous_id": "dev"}]}
            else:
                body = {**body, "anonymous_id": "dev"}
            return post(path, body, key=key)

        assert send(site.plain_key).status_code == 200
        assert send(other_key).status_code == 200  # the same event from another site: another
        assert send(other_key).status_code == 200  # and its resend: recorded once
    assert Activity.objects.filter(site=site).count() == 3
    assert Activity.objects.filter(site=other).count() == 3


def test_identify_stitches_two_devices(post):
    post("track", {"anonymous_id": "phone", "kind": "page_view"})
    post("track", {"anonymous_id": "laptop", "kind": "page_view"})

    first = post("identify", {"anonymous_id": "phone", "user_id": "u-1",
                              "email": "ann@example.com", "traits": {"name": "Ann"}})
    second = post("identify", {"anonymous_id": "laptop", "user_id": "u-1"})

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"ok": True}
    live = Person.objects.get(merged_into__isnull=True)
    assert live.status == PersonStatus.USER
    assert live.page_views == 2 and live.name == "Ann"
    assert MergeRecord.objects.get().reason == "identify"


def test_chat_endpoint_records_in_a_conversation(post):
    response = post("chat", {"anonymous_id": "dev-1", "text": "hello, I'm a@example.com"})

    assert response.status_code == 200
    person = Person.objects.get()
    assert Conversation.objects.get().person_id == person.pk
    assert person.email == "a@example.com"


def test_trailing_slash_is_accepted(post):
    assert post("track/", {"anonymous_id": "d", "kind": "page_view"}).status_code == 200


def test_batch_runs_events_in_order_and_reports_each_by_index(post):
    response = post("batch", {"batch": [
        {"type": "track", "anonymous_id": "d", "kind": "page_view", "message_id": "b-1"},
        {"type": "track", "anonymous_id": "d", "kind": "page_view", "message_id": "b-1"},
        {"type": "chat", "anonymous_id": "d", "text": "hi"},
        {"type": "identify", "anonymous_id": "d", "user_id": "u-9"},
        {"type": "track", "user_id": "u-9", "kind": "event", "properties": {"name": "Paid"}},
    ]})

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    person = Person.objects.get(user_id="u-9")
    assert list(Person.objects.filter(merged_into__isnull=True)) == [person]
    assert person.page_views == 1  # the repeated b-1 is recorded once
    assert person.activities.count() == 4  # page view, chat, identify, event


def test_batch_groups_many_people(post):
    events = [{"type": "track", "anonymous_id": f"d{n % 10}", "kind": "page_view"}
              for n in range(100)]

    response = post("batch", {"batch": events})

    assert response.status_code == 200
    assert Person.objects.count() == 10
    assert sorted(Person.objects.values_list("page_views", flat=True)) == [10] * 10


def test_batch_with_one_bad_event_is_rejected_whole(post):
    post("track", {"anonymous_id": "d", "kind": "page_view"})
    before = row_counts()

    response = post("batch", {"batch": [
        {"type": "track", "anonymous_id": "d", "kind": "page_view"},
        {"type": "identify", "anonymous_id": "d", "user_id": "undefined"},
    ]})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "batch[1].user_id"
    assert row_counts() == before


def test_demo_site_is_created_once_with_its_known_key(post, settings):
    from profiles.services.sites import DEMO_WRITE_KEY, ensure_demo_site

    settings.ONEFOLD_DEMO = True
    site = ensure_demo_site()
    again = ensure_demo_site()

    assert site.pk == again.pk and site.require_identity_verification
    response = post("track", {"anonymous_id": "d", "kind": "page_view"}, key=DEMO_WRITE_KEY)
    assert response.status_code == 200


def test_batch_for_several_ids_of_one_stitched_person_counts_on_that_person(post):
    post("identify", {"anonymous_id": "phone", "user_id": "u-1"})
    post("track", {"anonymous_id": "laptop", "kind": "page_view"})
    post("identify", {"anonymous_id": "laptop", "user_id": "u-1"})
    person = Person.objects.get(user_id="u-1")
    before = person.page_views

    response = post("batch", {"batch": [
        {"type": "track", "anonymous_id": "phone", "kind": "page_view"},
        {"type": "track", "anonymous_id": "laptop", "kind": "page_view"},
        {"type": "track", "user_id": "u-1", "kind": "page_view"},
        {"type": "track", "anonymous_id": "new-tablet", "kind": "page_view"},
    ]})

    assert response.status_code == 200
    person.refresh_from_db()
    assert person.page_views == before + 3
    assert Person.objects.filter(merged_into__isnull=True).count() == 2


def test_database_outage_is_a_503_not_a_500(post, monkeypatch):
    from django.db import OperationalError

    from profiles.services import tracking

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tracking, "person_for_key", down)

    response = post("track", {"anonymous_id": "d", "kind": "page_view"})

    assert response.status_code == 503
    assert response["Retry-After"] == "1"


def test_a_race_lost_every_time_is_a_409(post, monkeypatch):
    from django.db import IntegrityError

    from profiles.services import tracking

    def always_taken(*args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(tracking, "person_for_key", always_taken)

    response = post("track", {"anonymous_id": "d", "kind": "page_view"})

    assert response.status_code == 409
    assert Person.objects.count() == 0


def test_batch_event_size_counts_utf8_bytes_not_ascii_escapes(post):
    # 9,000 "é" are 18 KB of UTF-8 (54 KB as \u escapes): each event fits the 32 KB limit.
    event = {"type": "track", "anonymous_id": "d", "kind": "event",
             "properties": {"name": "x", "note": "é" * 9000}}

    response = post("batch", {"batch": [event, event]})

    assert response.status_code == 200, response.json()
    assert Activity.objects.count() == 2


def test_a_resent_batch_records_its_identify_once(post):
    batch = {"batch": [
        {"type": "track", "anonymous_id": "d", "kind": "page_view", "message_id": "t-1"},
        {"type": "identify", "anonymous_id": "d", "user_id": "u-1", "message_id": "i-1",
         "traits": {"name": "Ann"}},
    ]}
    first = post("batch", batch).json()
    history = Person.history.count()

    again = post("batch", batch).json()

    assert again == first
    assert Activity.objects.filter(kind="identify").count() == 1
    assert Person.history.count() == history  # nothing changed the second time
