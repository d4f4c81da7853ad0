"""PostgreSQL, real threads and committed data: a chunked rebuild next to real-time events for
its people, and an edit made while a rebuild runs."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from profiles.models import Activity, ActivityKind, Person
from profiles.services.events import Event, record_events
from profiles.services.resolution import lock_live
from segments.models import RebuildState, Segment, SegmentMembership, SegmentRebuild
from segments.services import create_segment, rebuild_segment, start_rebuild, update_segment
from segments.services.rebuild import process_chunk
from tests.factories import PersonFactory
from tests.segments.helpers import matched

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SALE = {"kind": "page_view", "where": {"category": "sale"}, "count": {"op": "gte", "value": 2}}
PARIS = {"field": "city", "op": "eq", "value": "Paris"}
ROME = {"field": "city", "op": "eq", "value": "Rome"}


@pytest.fixture(autouse=True)
def chunks(settings):
    settings.SEGMENT_REBUILD_CHUNK_PEOPLE = 4
    settings.SEGMENT_REBUILD_CHUNK_DELAY_SECONDS = 0.3  # each chunk in flight for a while


def in_thread(work) -> threading.Thread:  # noqa: ANN001
    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def sale_view(person_id: int) -> None:
    with transaction.atomic():
        record_events(person=lock_live(person_id), events=[Event(
            kind=ActivityKind.PAGE_VIEW, occurred_at=timezone.now(),
            properties={"url": "/sale", "category": "sale"})])


def balance(segment: Segment) -> dict[int, int]:
    """Per person: entries minus exits recorded for the segment."""
    counts: dict[int, int] = {}
    for person_id, kind in Activity.objects.filter(
            properties__segment_id=segment.pk).values_list("person_id", "kind"):
        counts[person_id] = counts.get(person_id, 0) + (
            1 if kind == ActivityKind.SEGMENT_ENTERED else -1)
    return {pk: n for pk, n in counts.items() if n}


def test_events_during_a_chunked_rebuild_end_with_the_right_membership():
    people = [PersonFactory() for _ in range(16)]
    segment = create_segment(name="Sale readers", definition=SALE)
    # Stale rows the rebuild must fix, on people the events are about to make match anyway.
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, person=p, original_person=p) for p in people[::3])
    rebuilder = in_thread(lambda: rebuild_segment(segment=segment))
    for _ in range(2):  # while the chunks run, every other person reads two sale pages
        for person in people[::2]:
            sale_view(person.pk)
            time.sleep(0.06)  # spread over the chunks
    rebuilder.join(60)
    assert not rebuilder.is_alive()
    expected = {p.pk for p in people[::2]}
    assert matched(SALE) == expected
    assert set(segment.memberships.values_list("person_id", flat=True)) == expected
    # What was recorded adds up to the end state, from the stale rows (no entry of theirs):
    # each change once, whoever (the rebuild or the event) made it.
    stale = {p.pk for p in people[::3]}
    wanted = {p.pk: (p.pk in expected) - (p.pk in stale) for p in people}
    assert balance(segment) == {pk: n for pk, n in wanted.items() if n}
    assert SegmentRebuild.objects.get(segment=segment, reason="").state == RebuildState.FINISHED


def test_an_edit_while_a_rebuild_runs_stops_it_and_no_old_rule_is_written_after():
    [PersonFactory(city=("Paris", "Rome")[n % 2]) for n in range(16)]
    segment = create_segment(name="City", definition=ROME)
    old = start_rebuild(segment=segment, in_background=True)
    Person.objects.filter(city="Rome").update(city="Paris")  # the old rule: all must go
    ids = list(old.chunks.order_by("index").values_list("pk", flat=True))
    done: list[bool] = []
    worker = in_thread(lambda: done.extend(process_chunk(chunk_id=pk) for pk in ids))
    time.sleep(0.1)  # the first chunk holds the segment while it works
    update_segment(segment=segment, definition=PARIS)  # waits for that chunk, then rebuilds
    edited = Segment.objects.get(pk=segment.pk).updated_at
    worker.join(60)
    old.refresh_from_db()
    assert old.state == RebuildState.SUPERSEDED
    assert done.count(True) == old.chunks_done < len(ids)  # the rest did nothing
    assert set(segment.memberships.values_list("person_id", flat=True)) == matched(PARIS)
    left_by_old = Activity.objects.filter(kind=ActivityKind.SEGMENT_LEFT,
                                          properties__segment_id=segment.pk)
    assert all(at < edited for at in left_by_old.values_list("occurred_at", flat=True))
