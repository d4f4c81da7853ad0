"""Real time: membership is true when the HTTP call (or staff edit) returns, and only the
segments reading what changed are re-evaluated."""

from __future__ import annotations

import pytest

from profiles.models import Activity, ActivityKind, Person
from profiles.services.people import apply_staff_edit
from segments.models import SegmentMembership
from segments.services import create_segment
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def members(segment) -> set[int]:
    return set(SegmentMembership.objects.filter(segment=segment)
               .values_list("person_id", flat=True))


def moves(person: Person) -> list[tuple[str, str]]:
    return list(Activity.objects.filter(
        person=person, kind__in=[ActivityKind.SEGMENT_ENTERED, ActivityKind.SEGMENT_LEFT])
        .order_by("pk").values_list("kind", "properties__segment"))


def test_page_views_enter_a_behaviour_segment_when_the_call_returns(post):
    engaged = create_segment(name="Engaged", definition={
        "kind": "page_view", "where": {"category": "sale"}, "count": {"op": "gte", "value": 2},
        "within_days": 30})
    view = {"anonymous_id": "dev-1", "kind": "page_view", "properties": {"category": "Sale"}}
    assert post("track", view).status_code == 200
    person = Person.objects.get()
    assert members(engaged) == set()
    assert post("track", view).status_code == 200
    assert members(engaged) == {person.pk}
    assert moves(person) == [("segment_entered", "Engaged")]
    post("track", view)
    assert moves(person) == [("segment_entered", "Engaged")]  # entered once


def test_leaving_when_a_counter_passes(post):
    newcomers = create_segment(name="Newcomers", definition={
        "field": "page_views", "op": "lt", "value": 2})
    post("track", {"anonymous_id": "d", "kind": "page_view"})
    person = Person.objects.get()
    assert members(newcomers) == {person.pk}
    post("track", {"anonymous_id": "d", "kind": "page_view"})
    assert members(newcomers) == set()
    assert moves(person) == [("segment_entered", "Newcomers"), ("segment_left", "Newcomers")]


def test_named_events_batch_identify_and_chat(post):
    carts = create_segment(name="Carts", definition={
        "kind": "event", "where": {"name": "Added to cart"}})
    known = create_segment(name="Known", definition={
        "field": "email", "op": "contains", "value": "@EXAMPLE.com"})
    post("batch", {"batch": [
        {"type": "track", "anonymous_id": "a", "kind": "event",
         "properties": {"name": "Added to cart"}},
        {"type": "track", "anonymous_id": "b", "kind": "event", "properties": {"name": "Other"}},
    ]})
    a = Person.objects.get(identities__value="a")
    assert members(carts) == {a.pk}
    post("identify", {"anonymous_id": "b", "user_id": "u-b", "email": "bob@example.com"})
    b = Person.objects.get(user_id="u-b")
    assert members(known) == {b.pk}
    post("chat", {"anonymous_id": "a", "text": "write me at ann@example.com"})
    assert members(known) == {a.pk, b.pk}


def test_only_segments_reading_what_changed_are_evaluated(post):
    paris = create_segment(name="Parisians", definition={
        "field": "city", "op": "eq", "value": "Paris"})
    person = PersonFactory(city="Rome")
    # A stale row: a page view does not read `city`, so it is not re-evaluated…
    SegmentMembership.objects.create(segment=paris, person=person)
    post("track", {"user_id": "x", "kind": "page_view"})
    assert members(paris) == {person.pk}
    # …a staff edit of the city is.
    apply_staff_edit(person=person, changes={"city": "Lyon"})
    assert members(paris) == set()
    apply_staff_edit(person=person, changes={"city": "paris"})
    assert members(paris) == {person.pk}
    assert [kind for kind, _ in moves(person)] == ["segment_left", "segment_entered"]


def test_only_behaviour_segments_counting_what_was_recorded_are_evaluated(post):
    sales = create_segment(name="Sale browsers", definition={
        "kind": "page_view", "where": {"category": "sale"}, "within_days": 7})
    post("track", {"anonymous_id": "d", "kind": "page_view"})
    person = Person.objects.get()
    # A stale row: page views its condition does not count leave it alone…
    SegmentMembership.objects.create(segment=sales, person=person)
    post("track", {"anonymous_id": "d", "kind": "page_view", "properties": {"category": "new"}})
    post("batch", {"batch": [{"type": "track", "anonymous_id": "d", "kind": "page_view",
                              "properties": {"category": "sale"},
                              "timestamp": "2020-01-01T00:00:00Z"}]})  # outside the window
    assert members(sales) == {person.pk}
    # …one it counts re-evaluates the segment (here: stays true, now with a counted view).
    SegmentMembership.objects.filter(segment=sales).delete()
    post("track", {"anonymous_id": "d", "kind": "page_view", "properties": {"category": "SALE"}})
    assert members(sales) == {person.pk}


def test_disabled_segments_are_not_evaluated(post):
    segment = create_segment(name="All", definition={"kind": "page_view"}, enabled=False)
    post("track", {"anonymous_id": "d", "kind": "page_view"})
    assert members(segment) == set()


def test_a_person_created_by_staff_enters_at_once():
    from profiles.services.people import create_person

    paris = create_segment(name="Parisians", definition={
        "field": "city", "op": "eq", "value": "Paris"})
    person = create_person(email="ann@example.com", city="Paris")
    assert members(paris) == {person.pk}


def test_counts_are_read_only_for_segments_the_row_leaves_open(post):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    regulars = create_segment(name="Paris regulars", definition={"all": [
        {"field": "city", "op": "eq", "value": "Paris"},
        {"kind": "page_view", "count": {"op": "gte", "value": 2}, "within_days": 7}]})
    post("track", {"anonymous_id": "d", "kind": "page_view"})
    person = Person.objects.get()
    # Not in Paris: the row settles the answer, so a page view reads no count for it, and a
    # stale row is left alone as for a segment the view does not concern…
    SegmentMembership.objects.create(segment=regulars, person=person)
    with CaptureQueriesContext(connection) as queries:
        post("track", {"anonymous_id": "d", "kind": "page_view"})
    assert not any("LIMIT 3" in query["sql"] for query in queries.captured_queries)
    assert members(regulars) == {person.pk}
    # …in Paris, the count decides: the second view within the week enters, read in one query.
    SegmentMembership.objects.all().delete()
    person.city = "Paris"
    person.save(update_fields=["city"])
    with CaptureQueriesContext(connection) as queries:
        post("track", {"anonymous_id": "d", "kind": "page_view"})
    assert any("LIMIT 3" in query["sql"] for query in queries.captured_queries)
    assert members(regulars) == {person.pk}


@pytest.mark.postgres
def test_the_probe_keeps_its_generic_plan(post):
    """PostgreSQL plans a prepared statement again at every call when a plan for the values
    at hand looks cheaper than its generic plan; the probe's windows are sub-selects and its
    definitions' values literals so that never happens (probe.py, `_opaque`)."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    create_segment(name="Sale browsers", definition={
        "kind": "page_view", "where": {"category": "sale"}, "count": {"op": "gte", "value": 3},
        "within_days": 30})
    create_segment(name="Browsers", definition={
        "kind": "page_view", "count": {"op": "gte", "value": 10}})
    others = PersonFactory.create_batch(20)
    Activity.objects.bulk_create(  # statistics: page views common, a year of history
        Activity(person=person, original_person=person,
                 kind=ActivityKind.PAGE_VIEW if n % 10 else ActivityKind.EVENT,
                 occurred_at=timezone.now() - dt.timedelta(days=n * 0.365))
        for person in others for n in range(1000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE profiles_activity")
    for n in range(8):
        post("track", {"anonymous_id": "d", "kind": "page_view",
                       "properties": {"category": "sale", "n": n}})
    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                       "WHERE statement LIKE 'SELECT 0, 0, %'")
        [(generic, custom)] = cursor.fetchall()
    assert (generic, custom) == (3, 5)
