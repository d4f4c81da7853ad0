"""From API payloads to service calls: validate every event first, then write in one transaction.

Batch semantics: all or nothing. Every event of a batch is validated before anything is
written; one bad event rejects the whole batch with its index in the error's field
(`batch[3].user_id`), and a valid batch is written in one transaction, in order, with
consecutive track events grouped per person. So no event is ever half-written, and a client
fixes the event named and resends the batch (message_ids make that resend safe).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.http import MAX_EVENT_BYTES
from api.keys import verify_user_hash
from profiles.models import Site
from profiles.services.chat import chat_in_transaction, clean_chat
from profiles.services.identification import clean_identify, identify_in_transaction
from profiles.services.resolution import atomic_with_retry
from profiles.services.tracking import clean_track, record_tracked
from profiles.services.validation import InvalidInput

FIELDS = {
    "identify": {"anonymous_id", "user_id", "email", "traits", "message_id", "user_hash"},
    "track": {
        "anonymous_id", "user_id", "kind", "properties", "occurred_at", "message_id", "user_hash",
    },
    "chat": {"anonymous_id", "user_id", "text", "occurred_at", "message_id", "user_hash"},
}
MAX_BATCH_EVENTS = 100


@dataclass
class Command:
    """One validated event, ready to run inside the request's transaction."""

    type: str
    data: Any

    def run(self, site: Site) -> dict[str, Any]:
        if self.type == "identify":
            person = identify_in_transaction(self.data, site=site)
            return {"person_id": person.pk, "status": person.status}
        activity, duplicate = chat_in_transaction(**self.data, site=site)
        return {
            "activity_id": activity.pk,
            "person_id": activity.person_id,
            "conversation_id": activity.conversation_id,
            "duplicate": duplicate,
        }


CLEANERS: dict[str, Callable[..., Any]] = {
    "identify": clean_identify,
    "track": clean_track,
    "chat": clean_chat,
}


def clean_command(
    type_: str, payload: dict[str, Any], *, site: Site, prefix: str = ""
) -> Command:
    """Validate one event payload; errors name the field with `prefix` (e.g. `batch[2].`)."""
    allowed = FIELDS[type_]
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise InvalidInput(prefix + unknown[0], f"unknown field for {type_}")
    arguments = {key: value for key, value in payload.items() if key != "user_hash"}
    try:
        data = CLEANERS[type_](**arguments)
    except InvalidInput as exc:
        raise InvalidInput(prefix + exc.field, exc.text, status=exc.status) from exc
    except TypeError as exc:  # a required argument is missing, e.g. track without kind
        missing = {"track": "kind", "chat": "text"}.get(type_, "body")
        raise InvalidInput(prefix + missing, "is required") from exc
    _verify_identity(site, data, payload.get("user_hash"), prefix)
    return Command(type=type_, data=data)


def _verify_identity(site: Site, data: Any, given: Any, prefix: str) -> None:
    """With verification on, a browser may only claim a user ID its server signed."""
    if not site.require_identity_verification:
        return
    user_id = data.get("user_id") if isinstance(data, dict) else data.user_id
    if user_id and not verify_user_hash(site=site, user_id=user_id, given=given):
        raise InvalidInput(
            prefix + "user_hash", "missing or wrong HMAC of the user_id", status=403
        )


def run_single(command: Command, *, site: Site) -> dict[str, Any]:
    return run_batch([command], site=site)[0]


def clean_batch(items: Any, *, site: Site, body_bytes: int | None = None) -> list[Command]:
    """Validate every event of a batch; `body_bytes` (the request's size) lets a batch that is
    smaller than one event's limit skip measuring each event."""
    if not isinstance(items, list) or not items:
        raise InvalidInput("batch", "must be a non-empty list of events")
    if len(items) > MAX_BATCH_EVENTS:
        raise InvalidInput("batch", f"at most {MAX_BATCH_EVENTS} events per batch", status=413)
    commands = []
    for index, item in enumerate(items):
        prefix = f"batch[{index}]."
        if not isinstance(item, dict):
            raise InvalidInput(f"batch[{index}]", "must be an object")
        measure = body_bytes is None or body_bytes > MAX_EVENT_BYTES
        if measure and _json_bytes(item) > MAX_EVENT_BYTES:
            raise InvalidInput(f"batch[{index}]", "event is over 32 KB", status=413)
        payload = dict(item)
        type_ = payload.pop("type", None)
        if type_ not in FIELDS:
            raise InvalidInput(prefix + "type", "must be identify, track or chat")
        commands.append(clean_command(type_, payload, site=site, prefix=prefix))
    return commands


def _json_bytes(item: Any) -> int:
    """An event's size as UTF-8 JSON, as the single-event limit counts a request body (ASCII
    escapes would count an "é" as six bytes instead of two)."""
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode())


def run_batch(commands: list[Command], *, site: Site) -> list[dict[str, Any]]:
    """Run validated events in order in one transaction (retried whole if it lost a race)."""
    return atomic_with_retry(lambda: _run_in_order(commands, site=site))


def _run_in_order(commands: list[Command], *, site: Site) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [{} for _ in commands]
    tracks: list[int] = []

    def flush() -> None:
        recorded = record_tracked([commands[i].data for i in tracks], site=site)
        for index, (activity, duplicate) in zip(tracks, recorded, strict=True):
            results[index] = {
                "activity_id": activity.pk,
                "person_id": activity.person_id,
                "duplicate": duplicate,
            }
        tracks.clear()

    for index, command in enumerate(commands):
        if command.type == "track":
            tracks.append(index)  # grouped: one lock and one insert per person
            continue
        if tracks:
            flush()
        results[index] = command.run(site)
    if tracks:
        flush()
    return results

