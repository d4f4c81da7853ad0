"""The HTTP envelope of every API endpoint: method, CORS, write key, size, JSON, rate, errors.

Views receive a parsed JSON object and an authenticated Site and return a dict; every failure
becomes `{"error": {"field": …, "message": …}}` with a 4xx status (503 when the database is
unavailable), never a 500 and never a partial write (the services validate before writing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import DataError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from api.keys import site_for_key
from api.ratelimit import retry_after
from profiles.models import Site
from profiles.services.resolution import ConflictError
from profiles.services.validation import InvalidInput

logger = logging.getLogger(__name__)
KB = 1024
MAX_EVENT_BYTES = 32 * KB
MAX_BATCH_BYTES = 500 * KB
ALLOWED_HEADERS = "Authorization, Content-Type, X-Onefold-Key"

View = Callable[[HttpRequest, Site, dict[str, Any]], dict[str, Any]]


class ApiError(Exception):
    def __init__(self, status: int, field: str | None, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message, self.headers = status, field, message, headers


def error_response(status: int, field: str | None, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": {"field": field, "message": message}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _key_from(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-Onefold-Key", "").strip()


def authenticate(request: HttpRequest) -> Site:
    key = _key_from(request)
    if not key:
        raise ApiError(401, "authorization", "missing write key (Authorization: Bearer <key>)")
    site = site_for_key(key)
    if site is None:
        raise ApiError(401, "authorization", "unknown write key")
    if not site.is_active:
        raise ApiError(401, "authorization", "this write key was revoked")
    return site


def origin_allowed(request: HttpRequest, origin: str, site: Site | None) -> bool:
    """Same-origin pages, or an origin the site lists (or any listed by some site at preflight:
    a revoked site's too, so that its page can read the 401 that says so)."""
    if urlsplit(origin).netloc == request.get_host():
        return True
    if site is not None:
        return "*" in site.origins or origin in site.origins
    return any(
        "*" in other.origins or origin in other.origins
        for other in Site.objects.only("allowed_origins")
    )


def _with_cors(response: HttpResponse, origin: str | None) -> HttpResponse:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        # The snippet waits as long as a 429 asks; a cross-origin script sees only the headers
        # listed here.
        response["Access-Control-Expose-Headers"] = "Retry-After"
    patch_vary_headers(response, ["Origin"])  # the answer depends on the Origin either way
    return response


def preflight(request: HttpRequest) -> HttpResponse:
    origin = request.headers.get("Origin")
    response = HttpResponse(status=204)
    if origin and origin_allowed(request, origin, None):
        _with_cors(response, origin)
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = "86400"
    return response


def parse_json(request: HttpRequest, *, max_bytes: int) -> dict[str, Any]:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "body", f"request body is over {max_bytes // KB} KB")
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise ApiError(413, "body", f"request body is over {max_bytes // KB} KB") from exc
    if len(raw) > max_bytes:
        raise ApiError(413, "body", f"request body is over {max_bytes // KB} KB")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "body", f"invalid JSON: {exc}") from exc
    except RecursionError as exc:  # thousands of nested brackets
        raise ApiError(400, "body", "JSON nested too deeply") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "body", "must be a JSON object")
    return body


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# Refusals made before the site (and so its origins) is known: a missing, unknown or revoked
# key and a wrong method. Their bodies hold nothing private and no credentials are ever
# allowed, so any page may read them; without CORS headers the browser would show the page a
# bare network error and the snippet would retry a revoked key as if it were offline.
READABLE_BEFORE_THE_ORIGIN_CHECK = frozenset({401, 405})


def endpoint(*, max_bytes: int, cost: Callable[[dict[str, Any]], int] = lambda body: 1):
    """Wrap a view with the envelope; `cost` counts the events a request weighs for the limit."""

    def decorate(view: View) -> Callable[[HttpRequest], HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            if request.method == "OPTIONS":
                return preflight(request)
            origin = request.headers.get("Origin")
            allowed_origin = None
            try:
                if request.method != "POST":
                    raise ApiError(405, "method", "use POST", Allow="POST, OPTIONS")
                site = authenticate(request)
                if origin:
                    if not origin_allowed(request, origin, site):
                        raise ApiError(403, "origin", f"origin {origin} is not allowed")
                    allowed_origin = origin
                body = parse_json(request, max_bytes=max_bytes)
                wait = retry_after(site=site, cost=max(1, cost(body)))
                if wait is not None:
                    raise ApiError(
                        429, None, "rate limit exceeded", Retry_After=str(wait)
                    )
                response: HttpResponse = JsonResponse(view(request, site, body))
            except ApiError as exc:
                response = error_response(exc.status, exc.field, exc.message, **exc.headers)
                if exc.status in READABLE_BEFORE_THE_ORIGIN_CHECK:
                    allowed_origin = origin
            except InvalidInput as exc:
                response = error_response(exc.status, exc.field, exc.text)
            except ConflictError:
                response = error_response(409, None, "conflicting concurrent write; resend")
            except ValidationError as exc:  # e.g. a merge the rules refuse
                response = error_response(409, None, "; ".join(exc.messages))
            except DataError:
                # A value validation let through that the database refuses: still the client's
                # input, and the transaction rolled back. Logged, as validation should catch it.
                logger.exception("value refused by the database")
                response = error_response(400, None, "a value is out of range for the database")
            except OperationalError:
                logger.exception("database unavailable")
                response = error_response(503, None, "database unavailable", Retry_After="1")
            return _with_cors(response, allowed_origin)

        return wrapper

    return decorate
