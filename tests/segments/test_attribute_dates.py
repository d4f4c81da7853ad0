"""`within_days` / `older_than_days` on dates inside attributes (profiling's first touch,
purchases' last time, a website's own ISO times): both forms agree (`matched`), what is no
date fails both, and bad values get clear errors naming the path."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from profiles.models import ActivityKind, Person
from profiles.services.events import Event, record_events
from segments.services import DefinitionError, create_segment, parse_definition
from segments.services.jsontime import parse_moment
from segments.services.membership import live_members
from tests.factories import PersonFactory
from tests.segments.helpers import matched

pytestmark = pytest.mark.django_db


def ago(days: float, offset: str = "+00:00") -> str:
    moment = timezone.now() - dt.timedelta(days=days)
    if offset == "naive":
        return moment.replace(tzinfo=None).isoformat()
    return moment.astimezone(dt.timezone(dt.timedelta(hours=int(offset[:3])))).isoformat()


def within(path: str, days: int) -> dict:
    return {"field": f"attributes.{path}", "op": "within_days", "value": days}


def older(path: str, days: int) -> dict:
    return {"field": f"attributes.{path}", "op": "older_than_days", "value": days}


def test_profiling_dates_within_and_older():
    recent = PersonFactory(attributes={"first_touch": {"at": ago(2)},
                                       "purchases": {"count": 1, "last_at": ago(1, "+05:00")}})
    old = PersonFactory(attributes={"first_touch": {"at": ago(90, "naive")},
                                    "purchases": {"count": 2, "last_at": ago(45, "-08:00")}})
    PersonFactory(attributes={"first_touch": {"referrer": "x"}})  # no date: neither
    assert matched(within("first_touch.at", 7)) == {recent.pk}
    assert matched(older("first_touch.at", 30)) == {old.pk}
    assert matched(within("purchases.last_at", 30)) == {recent.pk}
    assert matched(older("purchases.last_at", 30)) == {old.pk}
    assert matched({"not": within("purchases.last_at", 30)}) == set(
        Person.objects.exclude(pk=recent.pk).values_list("pk", flat=True))


@pytest.mark.parametrize("value", [
    "2026-02-30", "2026-02-29T10:00:00Z", "2026-13-01", "2026-01-31T24:00:00",
    "yesterday", "2026-01-31T10:00:00.1234567", "2026-1-31", "", 20260131, None,
    ["2026-01-01"], {"at": "2026-01-01"}, "2026-01-31T10:00:00+15:00", "2026-01-31\n",
])
def test_what_is_no_date_fails_both_operators(value):
    PersonFactory(attributes={"at": value})
    assert parse_moment(value) is None
    assert matched(within("at", 36500)) == set()
    assert matched(older("at", 0)) == set()


@pytest.mark.parametrize("value", [
    "2024-02-29", "2026-01-31T10:00", "2026-01-31 10:00:00.5", "2026-01-31T10:00:00Z",
    "2026-01-31T10:00:00.123456-14:00", "2025-12-31T23:59:59+01:00",
])
def test_every_accepted_shape_is_a_date_both_ways(value):
    person = PersonFactory(attributes={"at": value})
    assert parse_moment(value) is not None
    assert matched(older("at", 1)) == {person.pk}


def test_real_time_entry_on_a_purchase():
    buyers = create_segment(name="Bought this month", definition=within("purchases.last_at", 30))
    person = PersonFactory()
    record_events(person=person, events=[Event(
        kind=ActivityKind.PURCHASE, occurred_at=timezone.now(), properties={"amount": 5})])
    assert list(live_members(buyers).values_list("person_id", flat=True)) == [person.pk]


@pytest.mark.parametrize("value, words", [
    ("7", "expected a whole number of days"), (-1, "from 0 to 36500"), (2.5, "whole number"),
    (True, "whole number"),
])
def test_bad_days_are_refused_with_the_path(value, words):
    with pytest.raises(DefinitionError) as caught:
        parse_definition({"all": [{"field": "city", "op": "exists"},
                                  within("first_touch.at", 0) | {"value": value}]})
    assert caught.value.path == "$.all[1].value"
    assert words in caught.value.reason
