"""The real `segment-analytics-python` library (from PyPI) pointed at a live Onefold server."""

from __future__ import annotations

import datetime as dt

import pytest
from segment.analytics import request as segment_request
from segment.analytics.client import Client

from profiles.models import Activity, MergeRecord, Person, PersonStatus
from profiles.services.sites import issue_site_key
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def write_key():
    site = SiteFactory(require_identity_verification=False, rate_limit_per_minute=0,
                       rate_limit_per_client_per_minute=0)
    return issue_site_key(site=site)



def test_identify_track_page_alias_group_and_flush(live_server, write_key):
    errors: list[Exception] = []
    client = Client(write_key, host=live_server.url, on_error=lambda e, batch: errors.append(e),
                    gzip=True, upload_interval=0.05)
    client.page(anonymous_id="browser-1", name="Pricing", category="Docs",
                properties={"url": "https://shop.example/pricing?utm_source=ads&utm_campaign=w",
                            "referrer": "https://www.google.com/search?q=otter+crm"})
    client.track(anonymous_id="browser-1", event="Product Viewed",
                 properties={"product_id": "sku-1", "category": "Boots"})
    client.identify(user_id="u-42", anonymous_id="browser-1",
                    traits={"email": "ann@example.com", "name": "Ann", "plan": "pro"})
    client.track(user_id="u-42", event="Order Completed",
                 properties={"order_id": "o-1", "revenue": 99.5})
    client.page(anonymous_id="phone-7", name="Home",
                properties={"url": "https://shop.example/"})
    client.alias(previous_id="phone-7", user_id="u-42")
    client.group(user_id="u-42", group_id="acct-9", traits={"name": "ACME"})
    client.flush()  # waits until the queue is sent
    client.shutdown()

    assert errors == []
    person = Person.objects.get(merged_into__isnull=True)
    assert (person.user_id, person.email, person.name, person.company, person.status) == (
        "u-42", "ann@example.com", "Ann", "ACME", PersonStatus.USER)
    assert person.attributes["plan"] == "pro" and person.attributes["group_id"] == "acct-9"
    assert person.page_views == 2  # both devices' page views
    assert person.attributes["purchases"]["revenue"] == 99.5
    assert person.attributes["products_viewed"] == {"sku-1": 1}
    assert person.attributes["first_touch"]["utm_source"] == "ads"
    assert person.attributes["first_touch"]["search_keywords"] == "otter crm"
    kinds = sorted(Activity.objects.filter(person=person).values_list("kind", flat=True))
    assert kinds == ["event", "identify", "identify", "identify", "merged", "page_view",
                     "page_view", "purchase"]
    assert MergeRecord.objects.filter(reason="identify").count() == 1  # the phone stitched


def test_sync_mode_sends_each_call_at_once(live_server, write_key):
    client = Client(write_key, host=live_server.url, sync_mode=True)

    client.track(user_id="u-1", event="Signed Up", properties={"plan": "pro"})

    event = Activity.objects.get()
    assert (event.kind, event.properties["name"]) == ("event", "Signed Up")


def test_a_retried_batch_records_once(live_server, write_key):
    """The library's consumer resends a batch that failed with the same messages (and a new
    sentAt): its own request function, called twice, as a retry calls it."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    batch = [
        {"type": "track", "anonymousId": "dev-1", "event": "Clicked", "messageId": "m-1",
         "timestamp": now, "context": {"library": {"name": "analytics-python"}},
         "properties": {}, "integrations": {}},
        {"type": "identify", "anonymousId": "dev-1", "userId": "u-1", "messageId": "m-2",
         "timestamp": now, "traits": {"name": "Ann"}, "context": {}, "integrations": {}},
    ]

    for _ in range(2):
        response = segment_request.post(write_key, host=live_server.url, gzip=True,
                                        batch=[dict(message) for message in batch])
        assert response.status_code == 200 and response.json() == {"success": True}

    assert Activity.objects.filter(kind="event").count() == 1
    assert Activity.objects.filter(kind="identify").count() == 1
    assert Person.objects.get().user_id == "u-1"


def test_a_bad_key_is_an_error_the_library_reports(live_server):
    with pytest.raises(segment_request.APIError) as refused:
        segment_request.post("ofk_not-a-key", host=live_server.url,
                             batch=[{"type": "track", "userId": "u-1", "event": "A"}])

    assert refused.value.status == 401 and refused.value.code == "unauthorized"
