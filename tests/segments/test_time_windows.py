"""The minute task: people leave (or enter) a segment when a time window passes, no event
needed; segments without a window are left alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from profiles.models import Activity, ActivityKind, Person
from segments.models import SegmentMembership
from segments.services import create_segment, refresh_time_windows
from segments.tasks import refresh_time_windows_task
from tests.factories import PersonFactory
from tests.segments.helpers import activity

pytestmark = pytest.mark.django_db


def test_windows_pass_without_an_event():
    recent, lapsing = PersonFactory(), PersonFactory()
    activity(recent, ActivityKind.PURCHASE, days_ago=1)
    lapse = activity(lapsing, ActivityKind.PURCHASE, days_ago=29)
    buyers = create_segment(name="Bought this month", definition={
        "kind": "purchase", "within_days": 30})
    dormant = create_segment(name="Dormant", definition={
        "field": "last_seen", "op": "older_than_days", "value": 30})
    static = create_segment(name="Rome", definition={"field": "city", "op": "eq",
                                                     "value": "Rome"})
    Person.objects.filter(pk=lapsing.pk).update(
        last_seen=timezone.now() - dt.timedelta(days=29, hours=23))
    assert set(buyers.memberships.values_list("person_id", flat=True)) == {recent.pk,
                                                                          lapsing.pk}
    assert refresh_time_windows() == {buyers.pk: (0, 0), dormant.pk: (0, 0)}

    # Two days later, as far as the data is concerned.
    Activity.objects.filter(pk=lapse.pk).update(
        occurred_at=lapse.occurred_at - dt.timedelta(days=2))
    Person.objects.filter(pk=lapsing.pk).update(
        last_seen=timezone.now() - dt.timedelta(days=31))
    assert refresh_time_windows_task() == {buyers.pk: (0, 1), dormant.pk: (1, 0)}
    assert set(buyers.memberships.values_list("person_id", flat=True)) == {recent.pk}
    assert set(dormant.memberships.values_list("person_id", flat=True)) == {lapsing.pk}
    assert not SegmentMembership.objects.filter(segment=static).exists()
