"""The website API endpoints: identify, track, chat and batch (see docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api.http import MAX_BATCH_BYTES, MAX_EVENT_BYTES, endpoint, error_response
from api.ingest import clean_batch, clean_command, run_batch, run_single
from profiles.models import Site
from profiles.services.validation import InvalidInput


def _batch_size(body: dict[str, Any]) -> int:
    items = body.get("batch")
    return len(items) if isinstance(items, list) else 1


@endpoint(max_bytes=MAX_EVENT_BYTES)
def identify(request: HttpRequest, site: Site, body: dict[str, Any]) -> dict[str, Any]:
    return run_single(clean_command("identify", body, site=site), site=site)


@endpoint(max_bytes=MAX_EVENT_BYTES)
def track(request: HttpRequest, site: Site, body: dict[str, Any]) -> dict[str, Any]:
    return run_single(clean_command("track", body, site=site), site=site)


@endpoint(max_bytes=MAX_EVENT_BYTES)
def chat(request: HttpRequest, site: Site, body: dict[str, Any]) -> dict[str, Any]:
    return run_single(clean_command("chat", body, site=site), site=site)


@endpoint(max_bytes=MAX_BATCH_BYTES, cost=_batch_size)
def batch(request: HttpRequest, site: Site, body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - {"batch"})
    if unknown:
        raise InvalidInput(unknown[0], "unknown field for batch")
    commands = clean_batch(body.get("batch"), site=site, body_bytes=len(request.body))
    return {"results": run_batch(commands, site=site)}


@csrf_exempt  # a POST to a mistyped path must get this JSON 404, not the CSRF failure page
def not_found(request: HttpRequest) -> JsonResponse:
    """Unknown API paths answer in the API's own error format, not an HTML page."""
    return error_response(404, "path", "no such endpoint: use identify, track, chat or batch")
