"""Group commit for single-event track requests.

A website sends one page view per request, and a transaction per event spends most of its time
on what every transaction pays (BEGIN, finding and locking the person, COMMIT), not on the
event. So track requests that arrive while a web process is already writing wait for it, and
the next writer records them all in one transaction, as a batch request would be recorded
(people locked in id order, one INSERT, one profile UPDATE). Each request still answers only
after its event is committed, with its own activity and person: nothing changes for the client
but the wait. A request arriving when nothing is being written is written at once, alone.

If the shared transaction fails (a race lost past its retries, a database error), each of its
events is run again on its own, so one event's failure is that request's error only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from api.ingest import Command, run_batch
from profiles.models import Site

MAX_EVENTS_PER_COMMIT = 100


@dataclass(eq=False)
class _Slot:
    command: Command
    site: Site
    ready: threading.Event = field(default_factory=threading.Event)
    leads: bool = False  # woken to write the queue, not with a result
    result: dict[str, Any] | None = None
    error: BaseException | None = None

    def outcome(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class TrackCoalescer:
    """Per process: at most one thread writes; the requests queued meanwhile go together."""

    def __init__(self, *, max_events: int = MAX_EVENTS_PER_COMMIT) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Slot] = []
        self._writing = False
        self.max_events = max_events

    def record(self, command: Command, *, site: Site) -> dict[str, Any]:
        """Record one validated track event; returns what run_batch returns for it."""
        slot = _Slot(command, site)
        with self._lock:
            self._queue.append(slot)
            leads = not self._writing
            self._writing = True
        if not leads:
            slot.ready.wait()
            if not slot.leads:
                return slot.outcome()
        self._write_queue_head()
        return slot.outcome()

    def _write_queue_head(self) -> None:
        # The writer's slot is at the head of the queue: it came first, or was woken as head.
        with self._lock:
            batch = self._queue[: self.max_events]
            del self._queue[: self.max_events]
        try:
            _record(batch)
        except BaseException as exc:  # e.g. the worker is shutting down: answer every waiter
            for slot in batch:
                if slot.result is None and slot.error is None:
                    slot.error = exc
            raise
        finally:
            for slot in batch:
                slot.ready.set()
            with self._lock:
                if self._queue:
                    head = self._queue[0]
                    head.leads = True
                    head.ready.set()
                else:
                    self._writing = False


def _record(batch: list[_Slot]) -> None:
    """Give every slot its result or its own error; never raises an Exception."""
    by_site: dict[int, list[_Slot]] = {}
    for slot in batch:
        by_site.setdefault(slot.site.pk, []).append(slot)
    for slots in by_site.values():
        if len(slots) > 1:
            try:
                results = run_batch([slot.command for slot in slots], site=slots[0].site)
            except Exception:  # noqa: BLE001 - each event is run alone below, with its own error
                pass
            else:
                for slot, result in zip(slots, results, strict=True):
                    slot.result = result
                continue
        for slot in slots:
            try:
                slot.result = run_batch([slot.command], site=slot.site)[0]
            except Exception as exc:  # noqa: BLE001 - answered to that request only
                slot.error = exc


_coalescer = TrackCoalescer()


def record_track(command: Command, *, site: Site) -> dict[str, Any]:
    """Record a validated single track event through this process's group commit."""
    return _coalescer.record(command, site=site)
