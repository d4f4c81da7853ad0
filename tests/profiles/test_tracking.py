"""track(): first contact creates an anonymous profile; counters and profiling update at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.models import Activity, ActivityKind, Identity, Person, PersonStatus
from profiles.services import identify, merge_people, track
from profiles.services.events import Event, ProfileChange, record_events, register_updater
from profiles.services.validation import InvalidInput
from tests.factories import AnonymousPersonFactory, IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_first_contact_creates_an_anonymous_profile_with_name_avatar_and_id():
    activity = track(anonymous_id="device-1", kind="page_view", properties={"path": "/"})

    person = activity.person
    assert person.pk and person.name and person.avatar_seed
    assert person.is_anonymous and person.status == PersonStatus.VISITOR
    assert Identity.objects.get(value="device-1").person_id == person.pk
    assert activity.original_person_id == person.pk


def test_counters_and_dates_update_at_once():
    start = timezone.now() - timedelta(hours=3)
    for minutes in (0, 5, 10):
        track(anonymous_id="d", kind="page_view", occurred_at=start + timedelta(minutes=minutes))
    track(anonymous_id="d", kind="page_view", occurred_at=start + timedelta(hours=2))
    track(anonymous_id="d", kind="event", properties={"name": "Signed up"},
          occurred_at=start + timedelta(hours=2, minutes=1))

    person = Person.objects.get(identities__value="d")
    assert person.page_views == 4
    assert person.visits == 2  # a 30-minute gap starts a new visit
    assert person.first_seen == start
    assert person.last_seen == start + timedelta(hours=2, minutes=1)


def test_same_anonymous_id_always_lands_on_the_same_person():
    first = track(anonymous_id="d", kind="page_view")
    second = track(anonymous_id="d", kind="page_view")

    assert first.person_id == second.person_id
    assert Person.objects.count() == 1


def test_user_id_events_land_on_the_user_and_create_it_if_needed():
    user = PersonFactory(user_id="u-1")

    assert track(user_id="u-1", kind="page_view").person_id == user.pk
    created = track(user_id="u-2", kind="page_view").person
    assert created.user_id == "u-2" and created.status == PersonStatus.USER


def test_events_for_a_merged_device_land_on_the_base():
    base = PersonFactory()
    duplicate = AnonymousPersonFactory()
    IdentityFactory(person=duplicate, value="old-device")
    merge_people(base=base, others=[duplicate])

    assert track(anonymous_id="old-device", kind="page_view").person_id == base.pk


def test_message_id_makes_a_retry_idempotent():
    first = track(anonymous_id="d", kind="page_view", message_id="m-1")
    retry = track(anonymous_id="d", kind="page_view", message_id="m-1")

    assert retry.pk == first.pk
    assert Activity.objects.count() == 1
    assert Person.objects.get().page_views == 1


def test_referral_source_utm_and_landing_page_are_profiled():
    track(anonymous_id="d", kind="page_view", properties={
        "url": "https://shop.example/?utm_source=news", "referrer": "https://www.google.com/?q=otter+mug",
        "utm_source": "news", "utm_medium": "email", "utm_campaign": "spring",
    })
    track(anonymous_id="d", kind="page_view", properties={"url": "https://shop.example/cart"})
    track(anonymous_id="d", kind="page_view", occurred_at=timezone.now() + timedelta(hours=1),
          properties={"url": "https://shop.example/b", "referrer": "https://t.co/x"})

    attributes = Person.objects.get().attributes
    assert attributes["first_touch"]["utm_campaign"] == "spring"
    assert attributes["first_touch"]["search_keywords"] == "otter mug"
    assert attributes["first_touch"]["landing_page"] == "https://shop.example/?utm_source=news"
    assert attributes["latest_touch"]["referrer"] == "https://t.co/x"
    assert attributes["exit_page"] == "https://shop.example/b"


def test_utm_tags_and_ad_clicks_left_in_the_page_url_are_profiled():
    track(anonymous_id="d", kind="page_view", properties={
        "url": "https://shop.example/?utm_source=news&utm_campaign=spring&gclid=abc",
        "utm_campaign": "autumn",  # a property wins over the URL
    })

    touch = Person.objects.get().attributes["first_touch"]
    assert touch["utm_source"] == "news" and touch["utm_campaign"] == "autumn"
    assert touch["ad"] == "gclid=abc"


def test_a_batch_profiles_a_visit_as_events_sent_one_by_one():
    start = timezone.now() - timedelta(hours=1)
    views = [
        ({"url": "https://shop.example/landing?utm_source=news",
          "referrer": "https://www.google.com/"}, start),
        ({"url": "https://shop.example/second", "referrer": "https://shop.example/landing"},
         start + timedelta(minutes=1)),
    ]
    person = AnonymousPersonFactory()
    record_events(person=person, site=None, events=[
        Event(kind="page_view", occurred_at=at, properties=props) for props, at in views
    ])
    for index, (props, at) in enumerate(views):
        track(anonymous_id="one-by-one", kind="page_view", properties=props, occurred_at=at,
              message_id=f"m-{index}")

    batched = Person.objects.get(pk=person.pk).attributes
    single = Person.objects.get(identities__value="one-by-one").attributes
    assert batched["latest_touch"]["utm_source"] == "news"
    assert {key: batched[key] for key in ("first_touch", "latest_touch", "exit_page")} == {
        key: single[key] for key in ("first_touch", "latest_touch", "exit_page")
    }


def test_a_late_older_event_does_not_move_latest_values_back():
    now = timezone.now()
    track(anonymous_id="d", kind="page_view", occurred_at=now,
          properties={"url": "https://shop.example/new"})
    track(anonymous_id="d", kind="purchase", occurred_at=now, properties={"amount": 5})
    track(anonymous_id="d", kind="page_view", occurred_at=now - timedelta(minutes=10),
          properties={"url": "https://shop.example/old"})
    track(anonymous_id="d", kind="purchase", occurred_at=now - timedelta(days=30),
          properties={"amount": 7})

    attributes = Person.objects.get().attributes
    assert attributes["exit_page"] == "https://shop.example/new"
    assert attributes["purchases"] == {"count": 2, "revenue": 12, "last_at": now.isoformat()}


def test_products_purchases_and_email_offers_are_profiled():
    track(anonymous_id="d", kind="page_view", properties={"product": "mug", "category": "kitchen"})
    track(anonymous_id="d", kind="page_view", properties={"product": "mug"})
    track(anonymous_id="d", kind="purchase", properties={"amount": 12.5})
    track(anonymous_id="d", kind="email_sent")
    track(anonymous_id="d", kind="email_opened")

    attributes = Person.objects.get().attributes
    assert attributes["products_viewed"] == {"mug": 2}
    assert attributes["categories_viewed"] == {"kitchen": 1}
    assert attributes["purchases"]["count"] == 1 and attributes["purchases"]["revenue"] == 12.5
    assert attributes["email_offers"] == {"sent": 1, "opened": 1, "clicked": 0}


def test_history_is_written_per_visit_not_per_page_view():
    for _ in range(5):
        track(anonymous_id="d", kind="page_view")

    person = Person.objects.get()
    reasons = list(person.history.values_list("history_change_reason", flat=True))
    assert sum(1 for reason in reasons if reason and reason.startswith("visit started")) == 1


def test_a_registered_updater_runs_on_every_recorded_event():
    seen = []

    def remember(person, activity, change: ProfileChange):
        seen.append(activity.kind)

    register_updater(remember)
    try:
        track(anonymous_id="d", kind="page_view")
        person = Person.objects.get()
        record_events(person=person, events=[], site=None)
    finally:
        from profiles.services import events

        events._UPDATERS.remove(remember)
    assert seen == [ActivityKind.PAGE_VIEW]


def test_identified_user_keeps_profiling_through_track():
    identify(anonymous_id="d", user_id="u-1")
    track(user_id="u-1", kind="page_view", properties={"product": "lamp"})

    assert Person.objects.get(user_id="u-1").attributes["products_viewed"] == {"lamp": 1}


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kind": "page_view"}, "anonymous_id"),
        ({"anonymous_id": "undefined", "kind": "page_view"}, "anonymous_id"),
        ({"anonymous_id": "d", "kind": "merged"}, "kind"),
        ({"anonymous_id": "d", "kind": "nonsense"}, "kind"),
        ({"anonymous_id": "d", "kind": "event"}, "properties.name"),
        ({"anonymous_id": "d", "kind": "page_view", "properties": "x"}, "properties"),
        ({"anonymous_id": "d", "kind": "page_view", "properties": {"a": "b\x00"}}, "properties"),
        ({"anonymous_id": "d", "kind": "page_view", "occurred_at": "2999-01-01T00:00:00Z"},
         "occurred_at"),
        ({"anonymous_id": "d", "kind": "page_view", "occurred_at": "yesterday"}, "occurred_at"),
        ({"anonymous_id": "d", "kind": "page_view", "message_id": "m" * 129}, "message_id"),
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(arguments, field):
    with pytest.raises(InvalidInput) as caught:
        track(**arguments)

    assert caught.value.field == field
    assert Person.objects.count() == 0 and Activity.objects.count() == 0


def test_first_contact_and_new_visit_write_the_rows_simple_history_would():
    activity = track(anonymous_id="fresh-device", kind="page_view", properties={"path": "/a"})

    person = Person.objects.get(pk=activity.person_id)
    rows = list(person.history.order_by("history_id"))
    assert [row.history_type for row in rows] == ["+", "~"]
    assert rows[0].history_change_reason.startswith("first contact from the website")
    assert rows[1].history_change_reason.startswith("visit started")
    # The "~" row is the person as saved, every tracked field included.
    latest = rows[1]
    for name in ("name", "status", "avatar_seed", "visits", "page_views", "attributes",
                 "first_seen", "last_seen", "created_at"):
        assert getattr(latest, name) == getattr(person, name), name
    assert person.is_anonymous and person.name and person.avatar_seed
    identity = person.identities.get()
    assert (identity.kind, identity.value, identity.original_person_id) == (
        "anonymous_id", "fresh-device", person.pk
    )
    assert [row.history_type for row in identity.history.all()] == ["+"]
    assert activity.pk and activity.original_person_id == person.pk


@pytest.mark.postgres
def test_query_log_shows_the_prepared_statements_text():
    # Prepared statements keep no SQL on the psycopg cursor: the debug log must not say None.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    track(anonymous_id="logged", kind="page_view")
    with CaptureQueriesContext(connection) as queries:
        track(anonymous_id="logged", kind="page_view")

    statements = [query["sql"] for query in queries.captured_queries]
    assert None not in statements
    assert any("'logged'" in sql and "FOR NO KEY UPDATE" in sql for sql in statements)
    assert any(sql.startswith("WITH") and "profiles_activity" in sql for sql in statements)


def test_a_broken_referrer_or_url_does_not_fail_the_event():
    track(anonymous_id="d", kind="page_view",
          properties={"referrer": "http://[x", "url": "http://[::1?utm_source=x"})

    assert Person.objects.get().page_views == 1


def test_junk_amounts_do_not_break_a_persons_purchases():
    # Stored before validation refused such numbers: the profile must keep working.
    person = AnonymousPersonFactory(attributes={"purchases": {"count": 1, "revenue": 10**400}})
    IdentityFactory(person=person, kind="anonymous_id", value="d")
    track(anonymous_id="d", kind="purchase", properties={"amount": 1e308})
    track(anonymous_id="d", kind="purchase", properties={"amount": 19.99})

    purchases = Person.objects.get().attributes["purchases"]
    assert purchases["count"] == 3 and purchases["revenue"] == 19.99


def test_a_first_contact_records_why_the_profile_and_its_identity_exist():
    track(anonymous_id="device-9", kind="page_view")

    person = Person.objects.get()
    [created] = person.history.filter(history_type="+")
    [identity_created] = Identity.history.filter(history_type="+")
    assert created.history_change_reason == "first contact from the website: anonymous_id device-9"
    assert identity_created.history_change_reason == created.history_change_reason
