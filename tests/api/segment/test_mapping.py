"""What each Segment message becomes: people, activities and profiling, as docs/api.md says."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from profiles.models import Activity, MergeRecord, Person, PersonStatus
from profiles.services.sites import user_hash
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_page_feeds_the_page_view_and_its_profiling(segment):
    segment("page", {
        "anonymousId": "dev-1", "name": "Pricing", "category": "Docs",
        "properties": {"title": "Pricing"},
        "context": {
            "page": {"url": "https://shop.example/pricing?gclid=abc", "path": "/pricing",
                     "referrer": "https://www.google.com/search?q=otter+crm", "search": "?x=1"},
            "campaign": {"source": "newsletter", "medium": "email", "name": "winter",
                         "term": "crm", "content": "top"},
            "userAgent": "Mozilla/5.0 Test", "locale": "fr-FR", "ip": "203.0.113.9",
        },
    })

    view = Activity.objects.get()
    assert view.kind == "page_view"
    assert view.properties == {
        "url": "https://shop.example/pricing?gclid=abc", "path": "/pricing",
        "referrer": "https://www.google.com/search?q=otter+crm", "search": "?x=1",
        "title": "Pricing", "name": "Pricing", "category": "Docs",
        "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "winter",
        "utm_term": "crm", "utm_content": "top",
        "user_agent": "Mozilla/5.0 Test", "locale": "fr-FR", "ip": "203.0.113.9",
    }
    person = Person.objects.get()
    touch = person.attributes["first_touch"]
    assert touch["utm_source"] == "newsletter" and touch["utm_campaign"] == "winter"
    assert touch["search_keywords"] == "otter crm" and touch["ad"] == "gclid=abc"
    assert touch["landing_page"] == "https://shop.example/pricing?gclid=abc"
    assert person.attributes["exit_page"] == "https://shop.example/pricing?gclid=abc"
    assert person.attributes["categories_viewed"] == {"Docs": 1}
    assert person.page_views == 1 and person.visits == 1


def test_the_messages_own_properties_win_over_its_context(segment):
    segment("page", {"anonymousId": "dev-1", "properties": {"url": "https://shop.example/a"},
                     "context": {"page": {"url": "https://shop.example/b"}}})

    assert Activity.objects.get().properties["url"] == "https://shop.example/a"


def test_screen_is_a_page_view_named_after_the_screen(segment):
    segment("screen", {"userId": "u-1", "name": "Basket", "properties": {"items": 2}})

    view = Activity.objects.get()
    assert view.kind == "page_view"
    assert view.properties == {"items": 2, "name": "Basket", "screen": "Basket",
                               "path": "Basket"}
    assert Person.objects.get().attributes["exit_page"] == "Basket"


def test_track_is_a_named_event(segment):
    segment("track", {"userId": "u-1", "event": "Signed Up",
                      "properties": {"plan": "pro", "name": "Ann's plan"}})

    event = Activity.objects.get()
    assert event.kind == "event"
    assert event.properties == {"plan": "pro", "name": "Signed Up", "item_name": "Ann's plan"}


@pytest.mark.parametrize(("properties", "amount"), [
    ({"order_id": "o-1", "revenue": 25.5, "total": 30}, 25.5),
    ({"order_id": "o-1", "total": 30}, 30),
    ({"order_id": "o-1"}, None),
])
def test_order_completed_is_a_purchase(segment, properties, amount):
    segment("track", {"userId": "u-1", "event": "Order Completed", "properties": properties})

    purchase = Activity.objects.get()
    assert purchase.kind == "purchase"
    assert purchase.properties.get("amount") == amount
    assert Person.objects.get().attributes["purchases"]["revenue"] == (amount or 0)


def test_product_viewed_counts_the_product(segment):
    segment("track", {"anonymousId": "dev-1", "event": "Product Viewed",
                      "properties": {"product_id": "sku-9", "category": "Boots"}})

    attributes = Person.objects.get().attributes
    assert attributes["products_viewed"] == {"sku-9": 1}
    assert attributes["categories_viewed"] == {"Boots": 1}


@pytest.mark.parametrize(("event", "counter"), [
    ("Email Delivered", "sent"), ("Email Opened", "opened"), ("Email Link Clicked", "clicked"),
])
def test_the_specs_email_events_feed_email_responsiveness(segment, event, counter):
    segment("track", {"userId": "u-1", "event": event})

    assert Person.objects.get().attributes["email_offers"][counter] == 1


def test_identify_applies_the_traits(segment):
    segment("identify", {"anonymousId": "dev-1", "userId": "u-1", "traits": {
        "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee", "phone": "+33 1 23",
        "company": {"name": "ACME", "plan": "gold"}, "plan": "pro",
        "address": {"city": "Lyon", "country": "France", "street": "1 rue X"},
    }})

    person = Person.objects.get()
    assert (person.user_id, person.email, person.name, person.phone, person.company,
            person.city, person.country) == ("u-1", "ann@example.com", "Ann Lee", "+33 1 23",
                                             "ACME", "Lyon", "France")
    assert person.status == PersonStatus.USER
    assert person.attributes["plan"] == "pro"
    assert person.attributes["address"]["street"] == "1 rue X"


def test_identify_stitches_the_device_into_the_user(segment):
    segment("page", {"anonymousId": "phone"})
    segment("page", {"anonymousId": "laptop"})

    segment("identify", {"anonymousId": "phone", "userId": "u-1"})
    segment("identify", {"anonymousId": "laptop", "userId": "u-1"})

    live = Person.objects.get(merged_into__isnull=True)
    assert live.user_id == "u-1" and live.page_views == 2
    assert MergeRecord.objects.get().reason == "identify"


def test_alias_stitches_previous_id_into_the_user(segment):
    segment("page", {"anonymousId": "old-device"})
    segment("identify", {"userId": "u-1", "traits": {"name": "Ann"}})

    response = segment("alias", {"previousId": "old-device", "userId": "u-1"})

    assert response.status_code == 200
    live = Person.objects.get(merged_into__isnull=True)
    assert live.user_id == "u-1" and live.page_views == 1


def test_alias_never_merges_two_user_ids(segment, site):
    segment("identify", {"userId": "u-1"})
    segment("identify", {"userId": "u-2"})

    response = segment("alias", {"previousId": "u-1", "userId": "u-2"})

    assert response.status_code == 200
    assert Person.objects.filter(merged_into__isnull=True).count() == 2
    assert not MergeRecord.objects.exists()
    assert site.rejected_events.get().reason.startswith("alias call — previousId:")


def test_group_sets_the_company_and_group_id(segment):
    segment("group", {"userId": "u-1", "groupId": "acct-7", "traits": {"name": "ACME",
                                                                        "employees": 50}})

    person = Person.objects.get()
    assert person.company == "ACME" and person.attributes["group_id"] == "acct-7"
    assert "employees" not in person.attributes  # other group traits are not the person's


def test_batch_context_is_merged_into_each_message(segment):
    segment("batch", {
        "context": {"page": {"referrer": "https://news.example/"}, "locale": "de-DE"},
        "batch": [
            {"type": "page", "anonymousId": "dev-1",
             "context": {"page": {"url": "https://shop.example/"}}},
            {"type": "page", "anonymousId": "dev-1", "context": {"locale": "en-GB"}},
        ],
    })

    first, second = Activity.objects.order_by("id")
    assert first.properties == {"url": "https://shop.example/", "locale": "de-DE",
                                "referrer": "https://news.example/"}
    assert second.properties == {"referrer": "https://news.example/", "locale": "en-GB"}


def test_the_device_clock_is_corrected_by_sent_at(segment):
    """A device whose clock is 3 hours ahead: originalTimestamp and sentAt by that clock, 5
    minutes apart; the event happened 5 minutes before the request arrived."""
    now = timezone.now()
    skewed = now + dt.timedelta(hours=3)
    segment("track", {"anonymousId": "dev-1", "event": "Played",
                      "originalTimestamp": iso(skewed - dt.timedelta(minutes=5)),
                      "sentAt": iso(skewed)})

    happened = Activity.objects.get().occurred_at
    assert abs(happened - (now - dt.timedelta(minutes=5))) < dt.timedelta(seconds=30)


def test_the_batchs_sent_at_corrects_each_message(segment):
    now = timezone.now()
    skewed = now - dt.timedelta(days=2)  # a clock two days behind
    segment("batch", {"sentAt": iso(skewed), "batch": [
        {"type": "track", "anonymousId": "dev-1", "event": "A",
         "timestamp": iso(skewed - dt.timedelta(minutes=1))},
    ]})

    happened = Activity.objects.get().occurred_at
    assert abs(happened - (now - dt.timedelta(minutes=1))) < dt.timedelta(seconds=30)


def test_a_timestamp_without_sent_at_is_taken_as_it_is(segment):
    segment("track", {"anonymousId": "dev-1", "event": "Imported",
                      "timestamp": "2024-05-01T10:00:00+02:00"})

    assert Activity.objects.get().occurred_at == dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC)


def test_a_resend_with_the_same_message_id_records_once(segment):
    """The libraries resend a batch with a new sentAt each time: still the same events."""
    now = timezone.now()
    message = {"type": "track", "anonymousId": "dev-1", "event": "Paid", "messageId": "m-1",
               "timestamp": iso(now)}
    for delay in (1, 7):
        response = segment("batch", {"batch": [message],
                                     "sentAt": iso(now + dt.timedelta(seconds=delay))})
        assert response.status_code == 200

    assert Activity.objects.count() == 1
    other = {**message, "properties": {"amount": 2}}  # the same messageId, other content
    segment("batch", {"batch": [other], "sentAt": iso(now)})
    assert Activity.objects.count() == 2


def test_identify_resend_changes_nothing(segment):
    message = {"userId": "u-1", "traits": {"name": "Ann"}, "messageId": "i-1"}
    segment("identify", message)
    segment("identify", message)

    assert Activity.objects.filter(kind="identify").count() == 1


def test_a_verifying_site_takes_the_hash_from_the_onefold_integration_options(client):
    site = SiteFactory(require_identity_verification=True)
    from profiles.services.sites import issue_site_key
    from tests.api.segment.conftest import basic

    key = issue_site_key(site=site)
    proof = {"Onefold": {"user_hash": user_hash(site=site, user_id="u-1")}}
    signed = {"userId": "u-1", "traits": {"name": "Ann"}, "integrations": proof}
    unsigned = {"userId": "u-2", "traits": {"name": "Bob"}}

    for body in (signed, unsigned):
        response = client.post("/v1/identify", body, content_type="application/json",
                               HTTP_AUTHORIZATION=basic(key))
        assert response.status_code == 200

    assert list(Person.objects.values_list("user_id", flat=True)) == ["u-1"]
    assert site.rejected_events.get().reason == (
        "identify call — integrations.Onefold.user_hash: missing or wrong HMAC of the userId"
    )
