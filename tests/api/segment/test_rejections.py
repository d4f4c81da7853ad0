"""Messages answered as accepted but not recorded: counted per site and reason, shown to staff;
refusals met while writing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import OperationalError

from api.models import RejectedEvent
from api.segment import rejections, views
from profiles.models import Activity, Person
from profiles.services.errors import BUSY, CONFLICT, ServiceError
from tests.api.conftest import row_counts
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

GOOD = {"type": "track", "anonymousId": "dev-1", "event": "Clicked"}


@pytest.mark.parametrize(("message", "reason"), [
    ({"type": "track", "event": "Clicked"},
     "track call — anonymousId: an anonymousId or a userId is required"),
    ({"type": "page", "anonymousId": "undefined"},
     "page call — anonymousId: 'undefined' is not a real ID (placeholder value refused)"),
    ({"type": "track", "userId": "u-1"},
     "track call — event: is required: the name of what happened"),
    ({"type": "track", "userId": "u-1", "event": "A", "timestamp": "yesterday"},
     "track call — timestamp: must be an ISO 8601 date and time: YYYY-MM-DDTHH:MM[:SS[.fff]], "
     "then optionally Z, ±HH:MM or ±HHMM"),
    ({"type": "identify", "anonymousId": "dev-1", "traits": {"plan": "pro"}},
     "identify call — userId: is required (or an anonymousId with an email)"),
    ({"type": "group", "userId": "u-1"}, "group call — groupId: is required"),
    ({"type": "alias", "userId": "u-1"},
     "alias call — previousId: is required: the anonymousId to stitch"),
    ({"type": "alias", "userId": "u-1", "previousId": "u-1"},
     "alias call — previousId: is the userId itself: nothing to stitch"),
    ({"type": "track", "userId": "u-1", "event": "A", "properties": [1]},
     "track call — properties: must be an object"),
    ({"type": "screen", "userId": "u-1", "context": "app"},
     "screen call — context: must be an object"),
    ({"type": "click", "userId": "u-1"},
     "a message of unknown type 'click': use identify, track, page, screen, group or alias"),
    ("track", "a message that is not a JSON object"),
])
def test_an_unrecordable_message_is_counted_and_the_others_recorded(segment, site, message,
                                                                    reason):
    response = segment("batch", {"batch": [GOOD, message, GOOD | {"event": "Again"}]})

    assert response.status_code == 200 and response.json() == {"success": True}
    assert list(Activity.objects.values_list("properties__name", flat=True)) == [
        "Clicked", "Again"]
    counted = site.rejected_events.get()
    assert (counted.reason, counted.count) == (reason, 1)


def test_counts_add_up_per_reason_and_site(segment, site):
    junk = {"type": "track", "event": "A", "anonymousId": "null"}
    segment("batch", {"batch": [junk, junk]})
    segment("track", {k: v for k, v in junk.items() if k != "type"})

    assert site.rejected_events.get().count == 3
    other = SiteFactory()
    assert not RejectedEvent.objects.filter(site=other).exists()


def test_a_single_message_endpoint_counts_too(segment, site):
    response = segment("t", {"event": "Clicked"})

    assert response.status_code == 200
    assert site.rejected_events.get().count == 1 and row_counts()["activities"] == 0


def test_reasons_beyond_the_cap_are_counted_together(segment, site, monkeypatch):
    monkeypatch.setattr(rejections, "MAX_REASONS_PER_SITE", 2)
    types = ["one", "two", "three", "four"]
    segment("batch", {"batch": [{"type": name, "userId": "u-1"} for name in types]})

    reasons = dict(site.rejected_events.values_list("reason", "count"))
    assert len(reasons) == 3 and reasons[rejections.OTHER_REASONS] == 2


def test_a_refusal_met_while_writing_drops_that_message_only(segment, site, monkeypatch):
    real = views.record_batch
    calls = []

    def refuse_the_second_once(commands, *, site):
        calls.append(len(commands))
        if len(calls) == 1:
            raise ServiceError("batch[1].user_id", "the rules refuse this merge", code=CONFLICT)
        return real(commands, site=site)

    monkeypatch.setattr(views, "record_batch", refuse_the_second_once)
    batch = [GOOD, {**GOOD, "event": "Refused"}, {**GOOD, "event": "Kept"}]

    response = segment("batch", {"batch": batch})

    assert response.status_code == 200 and calls == [3, 2]
    assert list(Activity.objects.values_list("properties__name", flat=True)) == [
        "Clicked", "Kept"]
    assert site.rejected_events.get().reason == (
        "track call — userId: the rules refuse this merge")


def test_a_race_lost_every_time_is_a_503_the_clients_retry(segment, monkeypatch):
    def busy(command, *, site):
        raise ServiceError(None, "busy: try again", code=BUSY)

    monkeypatch.setattr(views, "record_event", busy)

    response = segment("track", {"anonymousId": "dev-1", "event": "A"})

    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert row_counts()["activities"] == 0


def test_a_database_outage_is_a_503(segment, monkeypatch):
    def down(command, *, site):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "record_event", down)

    response = segment("track", {"anonymousId": "dev-1", "event": "A"})

    assert response.status_code == 503 and response["Retry-After"] == "1"


def test_staff_see_the_rejected_events_on_the_site_page(segment, site, client,
                                                        django_user_model):
    segment("batch", {"batch": [{"type": "track", "event": "A", "anonymousId": "null"}] * 2})
    staff = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_site"))
    client.force_login(staff)

    page = client.get(f"/admin/profiles/site/{site.pk}/change/").content.decode()
    listing = client.get("/admin/profiles/site/").content.decode()

    assert "Why it was not recorded" in page
    assert "track call — anonymousId: &#x27;null&#x27; is not a real ID" in page
    assert "<td>2</td>" in page
    assert "RejectedEvent" not in page and "{" not in page.split("Why it was not")[1][:400]
    assert "rejected events" in listing.lower()
    assert Person.objects.count() == 0
