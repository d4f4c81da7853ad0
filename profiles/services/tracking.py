"""track(): page views and named events from the website, recorded on the right person at once."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from profiles.models import Activity, ActivityKind, Site
from profiles.services.events import Event, message_digest, record_for_people
from profiles.services.recording_sql import activities_by_digests
from profiles.services.resolution import (
    atomic_with_retry,
    is_retry,
    people_for_events,
    person_for_key,
)
from profiles.services.trust import NO_PROOF, STAFF, Proof, key_for_event, shielded_user_ids
from profiles.services.validation import (
    InvalidInput,
    clean_id,
    clean_message_id,
    clean_object,
    clean_text,
    clean_timestamp,
)

# What a website may record through track; the rest of the timeline is written by Onefold.
TRACK_KINDS = frozenset(
    {
        ActivityKind.PAGE_VIEW,
        ActivityKind.EVENT,
        ActivityKind.PURCHASE,
        ActivityKind.EMAIL_SENT,
        ActivityKind.EMAIL_OPENED,
        ActivityKind.EMAIL_CLICKED,
    }
)


@dataclass(frozen=True)
class TrackInput:
    """A validated track call: who (one of the two IDs), what, and what vouches for the IDs
    (nothing until the caller says: the website API from its hashes, the Python API staff)."""

    anonymous_id: str | None
    user_id: str | None
    event: Event
    proof: Proof = NO_PROOF


def clean_track(
    *,
    anonymous_id: Any = None,
    user_id: Any = None,
    kind: Any,
    properties: Any = None,
    occurred_at: Any = None,
    message_id: Any = None,
) -> TrackInput:
    """Validate a track call; raises InvalidInput naming the field."""
    anonymous_id = clean_id("anonymous_id", anonymous_id)
    user_id = clean_id("user_id", user_id)
    if not anonymous_id and not user_id:
        raise InvalidInput("anonymous_id", "an anonymous_id or a user_id is required")
    if not isinstance(kind, str) or kind not in TRACK_KINDS:
        raise InvalidInput("kind", f"must be one of: {', '.join(sorted(TRACK_KINDS))}")
    properties = clean_object("properties", properties)
    if kind == ActivityKind.EVENT:
        clean_text("properties.name", properties.get("name"), max_length=200)
    moment = clean_timestamp("occurred_at", occurred_at)
    message_id = clean_message_id(message_id)
    event = Event(
        kind=kind,
        occurred_at=moment,
        properties=properties,
        message_id=message_id,
        message_digest=message_digest(
            message_id, "track", user_id, anonymous_id, kind, properties,
            moment.isoformat() if occurred_at is not None else None,
        ),
    )
    return TrackInput(anonymous_id=anonymous_id, user_id=user_id, event=event)


def track(
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    kind: str,
    properties: dict[str, Any] | None = None,
    occurred_at: dt.datetime | str | None = None,
    message_id: str | None = None,
    site: Site | None = None,
) -> Activity:
    """Record one event for the person behind the IDs (created on first contact).

    A `message_id` seen before returns the activity already recorded and changes nothing.
    """
    item = clean_track(
        anonymous_id=anonymous_id,
        user_id=user_id,
        kind=kind,
        properties=properties,
        occurred_at=occurred_at,
        message_id=message_id,
    )
    item = replace(item, proof=STAFF)  # the Python API is staff's
    return atomic_with_retry(lambda: record_tracked([item], site=site)[0][0])


def record_tracked(
    items: list[TrackInput], *, site: Site | None
) -> list[tuple[Activity, bool]]:
    """Record validated track calls in the caller's transaction: (activity, was_duplicate) each.

    A batch is grouped per person: a few queries find and lock everyone, one INSERT writes
    every activity and one UPDATE the profiles, however many events and people it holds.
    """
    results: list[tuple[Activity, bool] | None] = [None] * len(items)
    fresh, twins = _split_retries(items, results, site_id=site.pk if site else None)
    keys = _person_keys([items[index] for index in fresh])
    proofs: dict[tuple[str, str], Proof] = {}
    for index in fresh:  # the proof a new user ID is created with: any event's that vouches
        key, proof = keys[id(items[index])], items[index].proof
        if key not in proofs or proof.vouches_for_user_id:
            proofs[key] = proof
    if len(proofs) == 1:  # the common single-event case: one query finds and locks the person
        [(key, proof)] = proofs.items()
        people = {key: person_for_key(*key, proof=proof)}
    else:
        people = people_for_events(proofs)
    person_of = {index: people[keys[id(items[index])]] for index in fresh}
    groups: dict[int, list[int]] = defaultdict(list)
    for index in fresh:
        groups[person_of[index].pk].append(index)
    work = [(person_of[indexes[0]], indexes) for indexes in groups.values()]
    recorded = record_for_people(
        [(person, [items[i].event for i in indexes]) for person, indexes in work], site=site
    )
    for (_, indexes), rows in zip(work, recorded, strict=True):
        for index, row in zip(indexes, rows, strict=True):
            results[index] = (row, False)
    for index, twin in twins.items():
        results[index] = (results[twin][0], True)
    return results  # type: ignore[return-value]


def _person_keys(items: list[TrackInput]) -> dict[int, tuple[str, str]]:
    """id(item) -> the (kind, value) its event is recorded under (trust.key_for_event): one
    statement finds which unproven user IDs belong to protected people."""
    unproven = [item.user_id for item in items
                if item.user_id and not item.proof.vouches_for_user_id]
    shielded = shielded_user_ids(unproven)
    return {
        id(item): key_for_event(user_id=item.user_id, anonymous_id=item.anonymous_id,
                                proof=item.proof, shielded=shielded)
        for item in items
    }


def _split_retries(
    items: list[TrackInput], results: list[tuple[Activity, bool] | None], *, site_id: int | None
) -> tuple[list[int], dict[int, int]]:
    """Fill results for events already recorded (the same message digest: see
    events.message_digest).

    Returns the indexes still to record, and in-batch repeats mapped to their first occurrence.
    """
    wanted = {item.event.message_digest for item in items if item.event.message_digest}
    # The first attempt skips the look-up: a resent event then fails the unique constraint,
    # and the retry (is_retry) finds the recorded row. Resends are rare, so that saves a query
    # on nearly every request. Repeats within one batch are paired below without a query.
    look_up = wanted and is_retry()
    known = (
        {row.message_digest: row for row in activities_by_digests(sorted(wanted), site_id=site_id)}
        if look_up
        else {}
    )
    fresh: list[int] = []
    first_index: dict[str, int] = {}
    twins: dict[int, int] = {}
    for index, item in enumerate(items):
        digest = item.event.message_digest
        if digest in known:
            results[index] = (known[digest], True)
        elif digest in first_index:
            twins[index] = first_index[digest]
        else:
            if digest:
                first_index[digest] = index
            fresh.append(index)
    return fresh, twins
