"""PostgreSQL: an event for a person while its segment is rebuilt ends with the right
membership (the rebuild re-checks the people it changes under their lock)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from profiles.models import Person
from segments.models import SegmentMembership
from segments.services import create_segment, rebuild_segment
from tests.factories import PersonFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _someone_waits_for_a_lock(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_a_change_committed_during_a_rebuild_is_not_undone():
    person = PersonFactory(city="Rome")
    segment = create_segment(name="Parisians", definition={
        "field": "city", "op": "eq", "value": "Paris"})
    # A stale row: the rebuild will read "Rome" and want this person out…
    SegmentMembership.objects.create(segment=segment, person=person)
    locked, outcome = threading.Event(), {}

    def writer() -> None:  # …while a writer holding the person's lock makes them match.
        try:
            with transaction.atomic():
                Person.objects.select_for_update().get(pk=person.pk)
                Person.objects.filter(pk=person.pk).update(city="Paris")
                locked.set()
                outcome["waited"] = _someone_waits_for_a_lock()
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert locked.wait(10)
    rebuild_segment(segment=segment)
    thread.join(20)

    assert outcome["waited"]  # the rebuild did wait for the writer's lock
    assert set(segment.memberships.values_list("person_id", flat=True)) == {person.pk}
