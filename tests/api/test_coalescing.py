"""Group commit of single track requests: shared transactions, each request its own answer."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from api import coalescing
from api.coalescing import TrackCoalescer
from api.ingest import clean_command
from profiles.models import Activity, Person
from profiles.services.merging.invariants import invariant_problems
from tests.api.test_concurrency import run_threads
from tests.factories import SiteFactory


class _Site:
    def __init__(self, pk: int) -> None:
        self.pk = pk


def _command(name: str):
    return coalescing.Command(type="track", data=name)


def _fake_writer(monkeypatch, *, slow_first: float = 0.2, failing: frozenset = frozenset()):
    """Replace run_batch: records each call's events; the first call is slow so that the
    requests arriving meanwhile queue up; an event named in `failing` fails any call."""
    calls: list[list[str]] = []
    lock = threading.Lock()

    def run_batch(commands, *, site):
        names = [command.data for command in commands]
        with lock:
            calls.append(names)
            first = len(calls) == 1
        if first:
            time.sleep(slow_first)
        if failing & set(names):
            raise RuntimeError(f"cannot write {sorted(failing & set(names))}")
        return [{"event": name, "site": site.pk} for name in names]

    monkeypatch.setattr(coalescing, "run_batch", run_batch)
    return calls


def _send_at_once(coalescer: TrackCoalescer, names: list[str], site_of=lambda name: 1):
    answers: dict[str, object] = {}

    def send(name: str) -> None:
        try:
            answers[name] = coalescer.record(_command(name), site=_Site(site_of(name)))
        except Exception as exc:  # noqa: BLE001 - the answer under test
            answers[name] = exc

    first = threading.Thread(target=send, args=(names[0],))
    first.start()
    time.sleep(0.05)  # the first request is now writing, alone
    others = [threading.Thread(target=send, args=(name,)) for name in names[1:]]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(timeout=10)
    return answers


def test_requests_arriving_while_one_writes_are_written_together(monkeypatch):
    calls = _fake_writer(monkeypatch)
    names = [f"e{n}" for n in range(6)]

    answers = _send_at_once(TrackCoalescer(), names)

    assert calls[0] == ["e0"]
    assert sorted(calls[1]) == names[1:]  # one shared write for the five that waited
    assert len(calls) == 2
    assert answers == {name: {"event": name, "site": 1} for name in names}


def test_one_failing_event_fails_only_its_own_request(monkeypatch):
    calls = _fake_writer(monkeypatch, failing=frozenset({"e3"}))
    names = [f"e{n}" for n in range(5)]

    answers = _send_at_once(TrackCoalescer(), names)

    assert isinstance(answers["e3"], RuntimeError)
    for name in ("e0", "e1", "e2", "e4"):
        assert answers[name] == {"event": name, "site": 1}
    # The shared attempt failed as a whole, then each waiting event was written alone.
    assert sorted(calls[1]) == ["e1", "e2", "e3", "e4"]
    assert sorted(map(tuple, calls[2:])) == [("e1",), ("e2",), ("e3",), ("e4",)]


def test_events_of_different_sites_never_share_a_write(monkeypatch):
    calls = _fake_writer(monkeypatch)
    names = ["a0", "a1", "b1", "a2", "b2"]

    answers = _send_at_once(TrackCoalescer(), names, site_of=lambda name: ord(name[0]))

    assert all(len({name[0] for name in call}) == 1 for call in calls)
    assert all(answers[name]["site"] == ord(name[0]) for name in names)


def test_a_large_queue_is_written_in_bounded_commits(monkeypatch):
    calls = _fake_writer(monkeypatch)
    names = [f"e{n}" for n in range(12)]

    _send_at_once(TrackCoalescer(max_events=4), names)

    assert max(len(call) for call in calls) <= 4
    assert sorted(name for call in calls for name in call) == sorted(names)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_on_postgresql_each_get_their_own_committed_event(monkeypatch):
    site = SiteFactory(rate_limit_per_minute=0)
    sizes: list[int] = []
    real_run_batch = coalescing.run_batch

    def spy(commands, *, site):
        sizes.append(len(commands))
        return real_run_batch(commands, site=site)

    monkeypatch.setattr(coalescing, "run_batch", spy)
    coalescer = TrackCoalescer()
    devices = [f"dev-{n}" for n in range(6)]
    per_sender = 15

    def sender(device: str):
        def send() -> list[tuple[str, dict]]:
            answers = []
            for n in range(per_sender):
                message_id = uuid.uuid4().hex
                command = clean_command(
                    "track",
                    {"anonymous_id": device, "kind": "page_view", "message_id": message_id,
                     "properties": {"n": n}},
                    site=site,
                )
                answers.append((message_id, coalescer.record(command, site=site)))
            return answers
        return send

    results = run_threads([sender(device) for device in devices])

    answers = [answer for per_thread in results for answer in per_thread]
    assert len(answers) == len(devices) * per_sender
    for message_id, answer in answers:
        activity = Activity.objects.get(pk=answer["activity_id"])
        assert activity.message_id == message_id and answer["duplicate"] is False
        assert activity.person_id == answer["person_id"]
    assert Activity.objects.count() == len(devices) * per_sender
    for device in devices:  # one person per device, with every event and the right counter
        person = Person.objects.get(identities__value=device)
        assert person.activities.count() == per_sender == person.page_views
    assert invariant_problems() == []
    assert max(sizes) > 1  # requests did share commits
