"""The one recording path: every website event becomes an Activity here, then updates the profile.

`record_events` writes the activities of one locked, live person and runs the registered profile
updaters over them (counters and dates, referral source, products viewed, email responsiveness…).
A later profiling rule is one more function passed to `register_updater`.

Counters, dates and the profiling attributes are derived from the timeline, which is itself the
audit, so they are written with one UPDATE and no history row; a history row is written when a
visit starts or another field changes, with the reason naming the event that caused it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from profiles.models import Activity, ActivityKind, ActivitySource, Conversation, Person, Site
from profiles.services.history import TRACKED_EVENT
from profiles.services.recording_writes import insert_activities

# A new visit starts after half an hour without activity (the usual web analytics session).
VISIT_GAP = dt.timedelta(minutes=30)
# Fields derived from the timeline: updated without a history row (see module docstring).
DERIVED_FIELDS = frozenset(
    {
        "first_seen", "last_seen", "last_heard_from", "last_contacted", "page_views", "visits",
        "attributes",
    }
)


@dataclass(frozen=True)
class Event:
    """One event to record, already validated."""

    kind: str
    occurred_at: dt.datetime
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = ActivitySource.WEB
    message_id: str | None = None
    message_digest: str | None = None  # see message_digest(); set with message_id
    conversation: Conversation | None = None


@dataclass
class ProfileChange:
    """What the updaters changed on the person while recording a set of activities."""

    fields: set[str] = field(default_factory=set)
    new_visit: bool = False  # some activity of the set started a visit
    visit_started: bool = False  # the activity being applied started one
    reasons: list[str] = field(default_factory=list)

    def set(self, person: Person, name: str, value: Any) -> None:
        if getattr(person, name) != value:
            setattr(person, name, value)
            self.fields.add(name)

    @property
    def needs_history(self) -> bool:
        return self.new_visit or bool(self.fields - DERIVED_FIELDS)


ProfileUpdater = Callable[[Person, Activity, ProfileChange], None]
_UPDATERS: list[ProfileUpdater] = []
# Called after every write of the recording path, in its transaction, with each person, the
# fields the updaters (and an edit) changed and the activities recorded for it. Segments
# register one (segments/apps.py) to keep memberships true when the call returns.
RecordedHook = Callable[[list[tuple[Person, set[str], list[Activity]]]], None]
_AFTER_WRITE: list[RecordedHook] = []


def register_updater(updater: ProfileUpdater) -> ProfileUpdater:
    """Add a profiling rule run after every recorded activity (usable as a decorator)."""
    if updater not in _UPDATERS:
        _UPDATERS.append(updater)
    return updater


def register_after_write(hook: RecordedHook) -> RecordedHook:
    """Run `hook` after each write of the recording path (see _AFTER_WRITE)."""
    if hook not in _AFTER_WRITE:
        _AFTER_WRITE.append(hook)
    return hook


def message_digest(message_id: str | None, *sent: Any) -> str | None:
    """What makes a resent event the same event: its message_id with everything else the
    caller sent (call type, user and device IDs as sent, kind, content, timestamp as sent or
    None). Another sender reusing the message_id, or the same one with other content, is
    another event, so a squatter can never make a real event be dropped as a resend."""
    if message_id is None:
        return None
    canonical = json.dumps(
        [message_id, *sent], sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def record_events(*, person: Person, events: Iterable[Event], site: Site | None = None) -> list[
    Activity
]:
    """Record activities for a live person the caller has locked, and update its profile."""
    return record_for_people([(person, list(events))], site=site)[0]


def record_for_people(
    work: list[tuple[Person, list[Event]]], *, site: Site | None = None
) -> list[list[Activity]]:
    """Record events for several locked, live people: one INSERT and one profile UPDATE in all.

    Returns each person's activities, in the order of their events.
    """
    now = timezone.now()
    per_person = [
        [_activity(person, event, site=site, now=now) for event in events]
        for person, events in work
    ]
    changes = [
        (person, collect_changes(person=person, activities=person_rows))
        for (person, _), person_rows in zip(work, per_person, strict=True)
    ]
    _write([row for person_rows in per_person for row in person_rows], changes)
    return per_person


def record_events_with_edit(
    *, person: Person, events: list[Event], site: Site | None, edited: list[str], reason: str
) -> list[Activity]:
    """Record events and save the fields the caller changed on `person` in the same UPDATE
    (one statement and one history row for, say, identify's traits and its activity)."""
    now = timezone.now()
    rows = [_activity(person, event, site=site, now=now) for event in events]
    change = collect_changes(person=person, activities=rows)
    if edited:
        change.fields.update(edited)
        change.reasons.insert(0, reason)
    _write(rows, [(person, change)])
    return rows


def _write(rows: list[Activity], changes: list[tuple[Person, ProfileChange]]) -> None:
    """Insert the activities and persist what the updaters changed, in one statement.

    A change that needs a history row (a visit started, a field other than the derived ones)
    gets one, with the reason naming the events that caused it; derived counters and dates
    alone do not (see the module docstring).
    """
    updates: list[tuple[Person, list[str]]] = []
    history: list[tuple[Person, str]] = []
    for person, change in changes:
        if not change.fields:
            continue
        updates.append((person, sorted(change.fields)))
        if change.needs_history:
            reason = "; ".join(dict.fromkeys(change.reasons)) or TRACKED_EVENT
            history.append((person, reason))
    insert_activities(rows, update_people=updates, history=history)
    if _AFTER_WRITE:
        recorded: dict[int, list[Activity]] = {}
        for row in rows:
            recorded.setdefault(row.person_id, []).append(row)
        notify_changed([(person, change.fields, recorded.get(person.pk, []))
                        for person, change in changes])


def notify_changed(changed: list[tuple[Person, set[str], list[Activity]]]) -> None:
    """Tell the registered hooks that these people changed (the recording path, staff edits)."""
    for hook in _AFTER_WRITE:
        hook(changed)


# Activity's columns in model order: positional construction skips Model.__init__'s keyword
# path, which (with the related-object descriptors) costs more than the rest of recording a
# row. A field added to Activity fails this check at import until _activity gives it a value.
_ACTIVITY_ATTNAMES = (
    "id", "person_id", "original_person_id", "kind", "occurred_at", "properties", "source",
    "site_id", "conversation_id", "message_id", "message_digest", "recorded_at",
)
if tuple(f.attname for f in Activity._meta.concrete_fields) != _ACTIVITY_ATTNAMES:
    raise RuntimeError("Activity's fields changed: update events._activity")


def _activity(person: Person, event: Event, *, site: Site | None, now: dt.datetime) -> Activity:
    return Activity(
        None,
        person.pk,
        person.pk,
        event.kind,
        event.occurred_at,
        event.properties,
        event.source,
        site.pk if site is not None else None,
        event.conversation.pk if event.conversation is not None else None,
        event.message_id,
        event.message_digest,
        now,
    )


def collect_changes(*, person: Person, activities: list[Activity]) -> ProfileChange:
    """Run the updaters over the activities, changing `person` in memory only."""
    change = ProfileChange()
    # In time order, so a batch's visits and "latest" values come out as if sent one by one.
    for activity in sorted(activities, key=lambda activity: activity.occurred_at):
        change.visit_started = False
        for updater in _UPDATERS:
            updater(person, activity, change)
    return change


# --- Core updaters: dates and counters ------------------------------------------------------


@register_updater
def update_seen(person: Person, activity: Activity, change: ProfileChange) -> None:
    """first/last seen, visits (a gap of VISIT_GAP starts a new one) and page views."""
    at = activity.occurred_at
    if activity.source == ActivitySource.SYSTEM:
        return
    if person.last_seen is None or at - person.last_seen > VISIT_GAP:
        change.set(person, "visits", person.visits + 1)
        change.new_visit = change.visit_started = True
        change.reasons.append(f"visit started ({activity.kind})")
    if person.first_seen is None or at < person.first_seen:
        change.set(person, "first_seen", at)
    if person.last_seen is None or at > person.last_seen:
        change.set(person, "last_seen", at)
    if activity.kind == ActivityKind.PAGE_VIEW:
        change.set(person, "page_views", person.page_views + 1)


@register_updater
def update_heard_from(person: Person, activity: Activity, change: ProfileChange) -> None:
    """A visitor's chat message is them reaching us."""
    if activity.kind == ActivityKind.CHAT_MESSAGE and (
        person.last_heard_from is None or activity.occurred_at > person.last_heard_from
    ):
        change.set(person, "last_heard_from", activity.occurred_at)


# The profiling updaters (referral, products, purchases, email offers) register on import.
from profiles.services import profiling  # noqa: E402,F401
