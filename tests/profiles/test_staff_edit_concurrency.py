"""Staff edits under real concurrency on PostgreSQL: the edit waits for the person's lock,
then sees what the other transaction committed."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections, transaction

from profiles.models import Person
from profiles.services import merge_people
from profiles.services.people import STAFF_FIELDS, StaffEditRefused, apply_staff_edit, staff_value
from tests.factories import PersonFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_thread(work) -> tuple[threading.Thread, list]:
    result: list = []

    def run() -> None:
        try:
            result.append(work())
        except Exception as exc:  # the test asserts on it
            result.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def hold_lock_then(person_id: int, change, seconds: float = 0.5) -> tuple[threading.Thread,
                                                                             threading.Event]:
    """Another transaction locks the person (as a merge does), changes it, commits later."""
    locked = threading.Event()

    def work() -> None:
        with transaction.atomic():
            Person.objects.select_for_update().get(pk=person_id)
            locked.set()
            time.sleep(seconds)
            change()

    thread, _ = in_thread(work)
    return thread, locked


def test_an_edit_waits_for_a_concurrent_change_of_its_field_and_refuses():
    person = PersonFactory(name="Bea")
    opened = {name: staff_value(person, name) for name in STAFF_FIELDS}
    other, locked = hold_lock_then(
        person.pk, lambda: Person.objects.filter(pk=person.pk).update(name="Beatrix"))
    locked.wait(5)

    edit, result = in_thread(lambda: apply_staff_edit(person=person.pk, opened=opened,
                                                      changes={"name": "Bee"}))
    other.join(10)
    edit.join(10)

    assert isinstance(result[0], StaffEditRefused) and result[0].code == "stale"
    assert Person.objects.get(pk=person.pk).name == "Beatrix"


def test_an_edit_racing_a_merge_refuses_and_leaves_the_tombstone():
    base = PersonFactory(name="Base", user_id="u-1")
    other = PersonFactory(name="Other")
    opened = {name: staff_value(other, name) for name in STAFF_FIELDS}
    started = threading.Event()

    def merge() -> object:
        started.set()
        return merge_people(base=base.pk, others=[other.pk], reason="manual")

    def edit() -> object:
        started.wait(5)
        return apply_staff_edit(person=other.pk, opened=opened, changes={"name": "Renamed"})

    merging, merged = in_thread(merge)
    editing, edited = in_thread(edit)
    merging.join(30)
    editing.join(30)

    fresh = Person.objects.get(pk=other.pk)
    if isinstance(edited[0], StaffEditRefused):  # the merge came first
        assert edited[0].code == "merged" and fresh.merged_into_id == base.pk
    else:  # the edit came first, then the merge took the edited row
        assert fresh.merged_into_id == base.pk and fresh.name == "Renamed"
    assert fresh.merged_into_id == base.pk
