"""The website API endpoints: identify, track, chat and batch (see docs/api.md).

Each view validates the body through the ingestion service and hands the envelope the work to
run once the rate limit has counted it; the services decide everything else.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api.errors import ApiError, error_response
from api.http import MAX_BATCH_BYTES, Payload, Work, endpoint
from profiles.models import Site
from profiles.services.ingestion import (
    MAX_EVENT_BYTES,
    clean_batch,
    clean_event,
    record_batch,
    record_event,
)
from profiles.services.validation import InvalidInput

# Every accepted call gets the same answer: what it recorded (whose profile, new or existing, a
# first copy or a resend) is nobody's business holding the public write key.
ACCEPTED = {"ok": True}


def _single(type_: str, site: Site, body: Payload) -> Work:
    command = clean_event(type_, body.data, site=site)
    return Work(cost=1, run=lambda: record_event(command, site=site) or ACCEPTED)


@endpoint(max_bytes=MAX_EVENT_BYTES)
def identify(site: Site, body: Payload) -> Work:
    return _single("identify", site, body)


@endpoint(max_bytes=MAX_EVENT_BYTES)
def track(site: Site, body: Payload) -> Work:
    return _single("track", site, body)


@endpoint(max_bytes=MAX_EVENT_BYTES)
def chat(site: Site, body: Payload) -> Work:
    return _single("chat", site, body)


@endpoint(max_bytes=MAX_BATCH_BYTES)
def batch(site: Site, body: Payload) -> Work:
    unknown = sorted(set(body.data) - {"batch"})
    if unknown:
        raise InvalidInput(unknown[0], "unknown field for batch")
    commands = clean_batch(body.data.get("batch"), site=site, body_bytes=body.size)
    return Work(cost=len(commands), run=lambda: record_batch(commands, site=site) or ACCEPTED)


@csrf_exempt  # a POST to a mistyped path must get this JSON 404, not the CSRF failure page
def not_found(request: HttpRequest) -> JsonResponse:
    """Unknown API paths and versions answer in the API's own error format, not an HTML
    page."""
    if not request.path_info.startswith("/api/v1/"):
        return error_response(ApiError("not_found", "path", "unknown API version: use /api/v1/"))
    return error_response(
        ApiError("not_found", "path", "no such endpoint: use identify, track, chat or batch")
    )
