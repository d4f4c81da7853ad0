"""Website events in bulk: validate every event first, then record them in order, in one unit.

The website API's identify, track, chat and batch calls come through here (docs/api.md).

Batch semantics: all or nothing. Every event of a batch is validated before anything is
written; one bad event refuses the whole batch with its index in the error's field
(`batch[3].user_id`), and a valid batch is recorded in one transaction, in order, with
consecutive track events grouped per person. So no event is ever half-written, and a client
fixes the event named and resends the batch (message_ids make that resend safe). A batch that
holds more than tracks first locks everyone it names in id order, as merges do, so concurrent
batches and merges queue instead of deadlocking.

Nothing is answered about what was recorded (no person or activity ids, no "duplicate"): the
write key is public, and an answer must not tell its caller whether an ID or email already
belonged to someone, or whether someone else sent a message_id first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from profiles.models import Site
from profiles.services.chat import chat_in_transaction, clean_chat
from profiles.services.errors import TOO_LARGE, VERIFICATION_REQUIRED, ServiceError
from profiles.services.identification import clean_identify, identify_in_transaction
from profiles.services.normalize import normalize_email
from profiles.services.recording_sql import (
    lock_people_by_ids,
    owners_of_keys,
)
from profiles.services.resolution import atomic_with_retry
from profiles.services.tombstones import live_ids
from profiles.services.tracking import clean_track, record_tracked
from profiles.services.trust import Proof
from profiles.services.validation import InvalidInput
from profiles.services.verification import is_signed

FIELDS = {
    "identify": {
        "anonymous_id", "user_id", "email", "traits", "message_id", "user_hash", "email_hash",
    },
    "track": {
        "anonymous_id", "user_id", "kind", "properties", "occurred_at", "message_id", "user_hash",
    },
    "chat": {"anonymous_id", "user_id", "text", "occurred_at", "message_id", "user_hash"},
}
CLEANERS: dict[str, Callable[..., Any]] = {
    "identify": clean_identify,
    "track": clean_track,
    "chat": clean_chat,
}
# The proofs a payload may carry (checked here, not passed to the cleaners).
HASHES = ("user_hash", "email_hash")
# Required when an argument of a cleaner is missing.
REQUIRED = {"track": "kind", "chat": "text"}
KB = 1024
MAX_EVENT_BYTES = 32 * KB
MAX_BATCH_EVENTS = 100


@dataclass
class Command:
    """One validated event, ready to run inside the unit's transaction."""

    type: str
    data: Any

    @property
    def ids(self) -> tuple[str | None, str | None]:
        """(user_id, anonymous_id) the event names."""
        if isinstance(self.data, dict):
            return self.data.get("user_id"), self.data.get("anonymous_id")
        return self.data.user_id, self.data.anonymous_id

    def run(self, site: Site | None) -> None:
        if self.type == "identify":
            identify_in_transaction(self.data, site=site)
        else:
            chat_in_transaction(**self.data, site=site)


def clean_event(
    type_: str, payload: dict[str, Any], *, site: Site | None, prefix: str = ""
) -> Command:
    """Validate one event payload; errors name the field with `prefix` (e.g. `batch[2].`)."""
    unknown = sorted(set(payload) - FIELDS[type_])
    if unknown:
        raise InvalidInput(prefix + unknown[0], f"unknown field for {type_}")
    arguments = {key: value for key, value in payload.items() if key not in HASHES}
    try:
        data = CLEANERS[type_](**arguments)
    except ServiceError as exc:
        raise exc.at(prefix) from exc
    except TypeError as exc:  # a required argument is missing, e.g. track without kind
        raise InvalidInput(prefix + REQUIRED.get(type_, "body"), "is required") from exc
    proof = _proof(site, data, payload, prefix)
    if isinstance(data, dict):
        return Command(type=type_, data={**data, "proof": proof})
    return Command(type=type_, data=replace(data, proof=proof))


def _proof(site: Site | None, data: Any, payload: dict[str, Any], prefix: str) -> Proof:
    """What vouches for the event's IDs: the HMACs its payload carries, checked with the
    site's secret. A hash that is sent but wrong is refused on any site (a stale secret
    should fail loudly); a site that requires verification refuses an unproven user ID, and
    an identify that has only an email and no proof of it."""
    user_id = data.get("user_id") if isinstance(data, dict) else data.user_id
    email = getattr(data, "email", None)
    proven = {}
    # A user ID's HMAC may be of the ID as stored (NFC, widths folded) or as the customer's
    # server holds it; an email's is of the trimmed, lower-cased address.
    raw_user_id = str(payload.get("user_id", "")).strip()
    for name, values, field in (("user_id", {user_id, raw_user_id}, "user_hash"),
                                ("email", {email and normalize_email(email)}, "email_hash")):
        value = user_id if name == "user_id" else email
        given = payload.get(field)
        proven[name] = bool(value) and given is not None and any(
            candidate and is_signed(site=site, value=candidate, given=given)
            for candidate in values
        )
        if given is not None and value and not proven[name]:
            raise InvalidInput(prefix + field, f"is not the HMAC of this {name}",
                               code=VERIFICATION_REQUIRED)
    if site is not None and site.require_identity_verification:
        if user_id and not proven["user_id"]:
            raise InvalidInput(prefix + "user_hash", "missing or wrong HMAC of the user_id",
                               code=VERIFICATION_REQUIRED)
        if email and not user_id and not proven["email"]:
            raise InvalidInput(
                prefix + "email_hash",
                "this site verifies identities: an identify with only an email needs the "
                "HMAC of the email",
                code=VERIFICATION_REQUIRED,
            )
    return Proof(user_id=proven["user_id"], email=proven["email"])


def clean_batch(items: Any, *, site: Site | None, body_bytes: int | None = None) -> list[Command]:
    """Validate every event of a batch; `body_bytes` (the request's size) lets a batch that is
    smaller than one event's limit skip measuring each event."""
    if not isinstance(items, list) or not items:
        raise InvalidInput("batch", "must be a non-empty list of events")
    if len(items) > MAX_BATCH_EVENTS:
        raise InvalidInput("batch", f"at most {MAX_BATCH_EVENTS} events per batch", code=TOO_LARGE)
    commands = []
    for index, item in enumerate(items):
        prefix = f"batch[{index}]."
        if not isinstance(item, dict):
            raise InvalidInput(f"batch[{index}]", "must be an object")
        measure = body_bytes is None or body_bytes > MAX_EVENT_BYTES
        if measure and _json_bytes(item) > MAX_EVENT_BYTES:
            raise InvalidInput(f"batch[{index}]", "event is over 32 KB", code=TOO_LARGE)
        payload = dict(item)
        type_ = payload.pop("type", None)
        if type_ not in FIELDS:
            raise InvalidInput(prefix + "type", "must be identify, track or chat")
        commands.append(clean_event(type_, payload, site=site, prefix=prefix))
    return commands


def _json_bytes(item: Any) -> int:
    """An event's size as UTF-8 JSON, as the single-event limit counts a request body (ASCII
    escapes would count an "é" as six bytes instead of two)."""
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode())


def record_event(command: Command, *, site: Site | None) -> None:
    """Record one validated event in its own transaction (redone if it lost a race)."""
    atomic_with_retry(lambda: _run_in_order([command], site=site, in_batch=False))


def record_batch(commands: list[Command], *, site: Site | None) -> None:
    """Record validated events in order in one transaction (redone whole if it lost a race)."""
    atomic_with_retry(lambda: _run_in_order(commands, site=site))


def _run_in_order(commands: list[Command], *, site: Site | None, in_batch: bool = True) -> None:
    """Run the events in order, consecutive tracks grouped; a refusal met while writing names
    the batch's event."""
    tracks: list[int] = []
    if in_batch and len(commands) > 1 and any(command.type != "track" for command in commands):
        # Run in order, the events would lock their people in the batch's order (identify:
        # the device, then the user): two batches, or a batch and an admin merge (which locks
        # in id order), naming the same people in different orders deadlock. Lock everyone
        # known up front, in id order, instead. (A batch of tracks alone already does; a
        # single identify locks two people at most, and a deadlock it meets is retried.)
        _lock_people_of(commands)

    def named(index: int, exc: ServiceError) -> ServiceError:
        return exc.at(f"batch[{index}].") if in_batch else exc

    def flush() -> None:
        try:
            record_tracked([commands[i].data for i in tracks], site=site)
        except ServiceError as exc:
            raise named(tracks[0], exc) from exc
        tracks.clear()

    for index, command in enumerate(commands):
        if command.type == "track":
            tracks.append(index)  # grouped: one lock and one insert per person
            continue
        if tracks:
            flush()
        try:
            command.run(site)
        except ServiceError as exc:
            raise named(index, exc) from exc
    if tracks:
        flush()


def _lock_people_of(commands: list[Command]) -> None:
    """Lock, in id order, the live people the batch's IDs resolve to now (tombstones
    followed without locking them). Later locks on them are then already held."""
    user_ids, anonymous_ids = set(), set()
    for command in commands:
        user_id, anonymous_id = command.ids
        if user_id:
            user_ids.add(user_id)
        if anonymous_id and (command.type == "identify" or not user_id):
            anonymous_ids.add(anonymous_id)
    owners = set(
        owners_of_keys(user_ids=sorted(user_ids), anonymous_ids=sorted(anonymous_ids)).values()
    )
    live = live_ids(sorted(owners))
    if live:
        lock_people_by_ids(sorted(set(live.values())))
