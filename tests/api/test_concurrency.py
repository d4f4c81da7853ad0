"""Real concurrent transactions on PostgreSQL: nothing lost, one person per real person."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection

from profiles.models import Activity, ActivityKind, Person
from profiles.services import identify, track
from profiles.services.merging import invariant_problems

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(targets: list[Callable[[], object]]) -> list[object]:
    """Run each target in its own thread (own connection) from a common start; re-raise errors."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)
    errors: list[BaseException] = []

    def runner(index: int, target: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = target()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_events_keep_arriving_while_identify_merges_the_device():
    user = identify(user_id="u-1", email="ann@example.com")
    for _ in range(5):
        track(anonymous_id="busy-device", kind="page_view")
    senders, per_sender = 4, 25

    def send_events() -> None:
        for n in range(per_sender):
            track(anonymous_id="busy-device", kind="page_view", properties={"n": n})

    def identify_midway() -> None:
        deadline = time.monotonic() + 30
        while Activity.objects.count() < 5 + 2 * per_sender and time.monotonic() < deadline:
            time.sleep(0.002)
        identify(anonymous_id="busy-device", user_id="u-1")

    run_threads([send_events] * senders + [identify_midway])

    device = Person.objects.get(identities__value="busy-device")
    assert device.pk == user.pk  # the device id now resolves to the user
    views = Activity.objects.filter(kind=ActivityKind.PAGE_VIEW)
    assert views.count() == 5 + senders * per_sender
    assert set(views.values_list("person_id", flat=True)) == {user.pk}
    # The merge really happened mid-stream: events were first recorded on both sides of it.
    first_owners = views.values_list("original_person_id", flat=True)
    assert {user.pk, device_first_owner(views)} == set(first_owners)
    user.refresh_from_db()
    assert user.page_views == 5 + senders * per_sender  # counters summed, none lost
    assert Person.objects.filter(merged_into=user).count() == 1
    assert invariant_problems() == []


def device_first_owner(views) -> int:
    return views.order_by("pk").values_list("original_person_id", flat=True).first()


@pytest.mark.parametrize("round_", range(3))
def test_two_devices_identify_the_same_new_user_at_once(round_):
    track(anonymous_id=f"phone-{round_}", kind="page_view")
    track(anonymous_id=f"laptop-{round_}", kind="page_view")
    user_id = f"new-user-{round_}"

    results = run_threads([
        lambda: identify(anonymous_id=f"phone-{round_}", user_id=user_id),
        lambda: identify(anonymous_id=f"laptop-{round_}", user_id=user_id),
    ])

    live = Person.objects.filter(user_id=user_id, merged_into__isnull=True)
    assert live.count() == 1
    person = live.get()
    assert {result.pk for result in results} == {person.pk}
    assert Person.objects.filter(merged_into__isnull=True).count() == 1
    assert person.page_views == 2
    assert invariant_problems() == []


def test_first_contact_from_one_new_device_in_parallel_creates_one_person():
    run_threads([lambda: track(anonymous_id="brand-new", kind="page_view")] * 6)

    assert Person.objects.count() == 1
    assert Person.objects.get().page_views == 6
    assert Activity.objects.count() == 6


def test_one_message_id_sent_in_parallel_is_recorded_once():
    run_threads(
        [lambda: track(anonymous_id="d", kind="page_view", message_id="same")] * 5
    )

    assert Activity.objects.filter(message_id="same").count() == 1
    assert Person.objects.get().page_views == 1


def test_batches_and_identifies_racing_over_the_same_devices_lose_nothing():
    import random

    from profiles.models import Site
    from profiles.services.ingestion import clean_batch, record_batch

    site = Site.objects.create(name="race", rate_limit_per_minute=0,
                               require_identity_verification=False)
    devices = [f"dev-{n}" for n in range(10)]
    for device in devices:
        track(anonymous_id=device, kind="page_view")
    for n in range(5):
        identify(user_id=f"user-{n}")

    def send_batches(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(8):
            events = [{"type": "track", "anonymous_id": rng.choice(devices), "kind": "page_view"}
                      for _ in range(30)]
            record_batch(clean_batch(events, site=site), site=site)

    def stitch() -> None:
        for n, device in enumerate(devices):
            identify(anonymous_id=device, user_id=f"user-{n % 5}")

    run_threads([lambda: send_batches(1), lambda: send_batches(2), lambda: send_batches(3),
                 stitch])

    views = Activity.objects.filter(kind=ActivityKind.PAGE_VIEW)
    assert views.count() == 10 + 3 * 8 * 30
    live = Person.objects.filter(merged_into__isnull=True)
    assert not views.exclude(person__in=live).exists()
    assert sum(live.values_list("page_views", flat=True)) == views.count()
    assert live.count() == 5
    assert invariant_problems() == []
