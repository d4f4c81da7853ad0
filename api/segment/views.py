"""The Segment HTTP tracking API: identify, track, page, screen, group, alias and batch (also
as the browser library's one-letter paths), and the settings analytics.js loads first.

Every accepted request is answered `{"success": true}`, as Segment's API does, whatever it
recorded. A message that cannot be recorded (no user or anonymous ID, a placeholder ID, a bad
timestamp...) does not fail the others: it is counted per site and reason, shown on the site's
admin page. What the spec refuses is refused for the whole request, nothing written: invalid
JSON, a message over 32 KB or a batch over 500 KB (400), a bad write key (401), the rate limit
(429 with Retry-After).
"""

from __future__ import annotations

from collections import Counter
from math import ceil
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from api.clients import client_key
from api.errors import ApiError
from api.http import MAX_BATCH_BYTES, Exchange, Work, answer, authenticate, run_work
from api.segment.envelope import HOW_TO_AUTHENTICATE, read_payload, refusal, write_key
from api.segment.messages import Envelope, Rejected, command_for, reason_of
from api.segment.rejections import count_rejected
from profiles.models import Site
from profiles.services.attributes import serialized_size
from profiles.services.errors import BUSY, INVALID, TOO_LARGE, ServiceError
from profiles.services.ingestion import MAX_EVENT_BYTES, Command, record_batch, record_event

ACCEPTED = {"success": True}


def message_endpoint(type_: str | None):
    """The view of one message type, or of a batch (`type_` None)."""

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        return answer(request, lambda exchange: _accept(exchange, type_), refusal=refusal)

    view.__name__ = f"segment_{type_ or 'batch'}"
    return view


def _accept(exchange: Exchange, type_: str | None) -> HttpResponse:
    request = exchange.request
    received_at = timezone.now()
    payload = read_payload(request, max_bytes=MAX_BATCH_BYTES if type_ is None else
                           MAX_EVENT_BYTES)
    site = authenticate(request, key=write_key(request, payload), how=HOW_TO_AUTHENTICATE)
    exchange.admit(site)
    messages, envelope = _messages(payload.data, type_, received_at, body_bytes=payload.size)
    accepted: list[tuple[str, Command]] = []
    rejected: Counter[str] = Counter()
    for message in messages:
        try:
            command = command_for(message, type_=type_, site=site, envelope=envelope)
        except Rejected as exc:
            rejected[exc.reason] += 1
            continue
        accepted.append((type_ or message["type"], command))
    work = Work(cost=len(messages), run=lambda: _record(accepted, rejected, site=site))
    return JsonResponse(run_work(work, site=site, client=client_key(request)))


def _messages(body: dict[str, Any], type_: str | None, received_at,
              *, body_bytes: int) -> tuple[list[Any], Envelope]:
    """The request's messages, and what it adds to each (a batch's context and sentAt). A
    batch smaller than one message's limit is not measured message by message."""
    if type_ is not None:
        return [body], Envelope(received_at=received_at, context={})
    messages = body.get("batch")
    if not isinstance(messages, list):
        raise ApiError(INVALID, "batch", "must be a list of messages")
    _check_sizes(messages, body_bytes=body_bytes)
    context = body.get("context")
    if context is not None and not isinstance(context, dict):
        raise ApiError(INVALID, "context", "must be an object")
    return messages, Envelope(received_at=received_at, context=context or {},
                              sent_at=body.get("sentAt"))


def _check_sizes(messages: list[Any], *, body_bytes: int) -> None:
    """Refuse a batch holding a message over 32 KB. The messages are parts of the body, so
    once the ones measured leave at most 32 KB of it, the rest cannot be over: a typical
    batch of 40 KB measures a quarter of its messages. They are measured a run at a time (a
    run of at most 32 KB holds no message over it), each alone only in a run over 32 KB."""
    unmeasured, start = body_bytes, 0
    average = body_bytes / max(1, len(messages))
    most = max(1, int(MAX_EVENT_BYTES / 2 / average))  # a run of about 16 KB at most
    while unmeasured > MAX_EVENT_BYTES and start < len(messages):
        run = messages[start:start + min(most, ceil((unmeasured - MAX_EVENT_BYTES) / average))]
        size = serialized_size(run) - len(run) - 1  # its brackets and commas are not theirs
        if size > MAX_EVENT_BYTES:
            for index, message in enumerate(run, start):
                if serialized_size(message) > MAX_EVENT_BYTES:
                    raise ApiError(TOO_LARGE, f"batch[{index}]", "message is over 32 KB")
        unmeasured -= size
        start += len(run)


def _record(accepted: list[tuple[str, Command]], rejected: Counter[str], *,
            site: Site) -> dict[str, Any]:
    """Record the messages in one transaction, in order. One that the rules refuse while
    writing (a merge they forbid) is counted with the rejected and the rest recorded again
    without it; a race lost every time fails the request (503: the client resends it)."""
    accepted = list(accepted)
    while accepted:
        commands = [command for _, command in accepted]
        try:
            if len(commands) == 1:
                record_event(commands[0], site=site)
            else:
                record_batch(commands, site=site)
            break
        except ServiceError as exc:
            index = _event_named(exc, in_batch=len(commands) > 1)
            if exc.code == BUSY or index is None or index >= len(accepted):
                raise
            type_, _ = accepted.pop(index)
            rejected[reason_of(type_, _unprefixed(exc))] += 1
    count_rejected(site=site, reasons=rejected)
    return ACCEPTED


def _event_named(exc: ServiceError, *, in_batch: bool) -> int | None:
    """Which event a refusal met while writing names (`batch[3].…`); 0 for a single one."""
    if not in_batch:
        return 0
    field = exc.field or ""
    if not field.startswith("batch["):
        return None
    number = field[len("batch["):].partition("]")[0]
    return int(number) if number.isdigit() else None


def _unprefixed(exc: ServiceError) -> ServiceError:
    field = exc.field or ""
    if field.startswith("batch["):
        rest = field.partition("]")[2].lstrip(".")
        return ServiceError(rest or None, exc.text, code=exc.code)
    return exc


ENDPOINTS = {  # path (and the browser library's one-letter path) -> message type
    "identify": "identify", "i": "identify", "track": "track", "t": "track",
    "page": "page", "p": "page", "screen": "screen", "s": "screen",
    "group": "group", "g": "group", "alias": "alias", "a": "alias",
    "batch": None, "b": None,
}
VIEWS = {path: message_endpoint(type_) for path, type_ in ENDPOINTS.items()}


@csrf_exempt  # a POST to a mistyped path must get this JSON 404, not the CSRF failure page
def unknown_path(request: HttpRequest) -> JsonResponse:
    return refusal(ApiError("not_found", "path", "no such endpoint: use identify, track, page, "
                            "screen, group, alias or batch (or i, t, p, s, g, a, b)"))
