"""The HTTP envelope of every API endpoint: method, CORS, write key, size, JSON, rate, errors.

Views receive a parsed JSON object and an authenticated Site and return a dict; every failure
becomes `{"error": {"field": …, "message": …}}` with a 4xx status (503 when the database is
unavailable), never a 500 and never a partial write (the services validate before writing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import DataError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from api.clients import client_key
from api.errors import ApiError, api_error_of, error_response
from api.ratelimit import give_back, take
from profiles.models import Site
from profiles.models.site import normalize_origin
from profiles.services.errors import INVALID, TOO_LARGE
from profiles.services.ingestion import KB
from profiles.services.sites import demo_is_on, is_demo_site, site_for_key

logger = logging.getLogger(__name__)
MAX_BATCH_BYTES = 500 * KB
ALLOWED_HEADERS = "Authorization, Content-Type, X-Onefold-Key"


def _key_from(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-Onefold-Key", "").strip()


def authenticate(request: HttpRequest, *, key: str | None = None,
                 how: str = "Authorization: Bearer <key>") -> Site:
    """The active site of the write key (`key`, or the request's Bearer / X-Onefold-Key
    header); `how` tells a caller without a key how to send one."""
    key = _key_from(request) if key is None else key
    if not key:
        raise ApiError("unauthorized", "authorization", f"missing write key ({how})")
    site = site_for_key(key)
    if site is None:
        raise ApiError("unauthorized", "authorization", "unknown write key")
    if not site.is_active:
        raise ApiError("unauthorized", "authorization", "this write key was revoked")
    if is_demo_site(site) and not demo_is_on():
        raise ApiError("unauthorized", "authorization",
                       "the demo shop's key works only while the demo is on")
    return site


def origin_allowed(request: HttpRequest, origin: str, site: Site | None) -> bool:
    """Same-origin pages (scheme, host and port all equal), or an origin the site lists (or
    any listed by some site at preflight: a revoked site's too, so that its page can read the
    401 that says so)."""
    if normalize_origin(origin) == normalize_origin(f"{request.scheme}://{request.get_host()}"):
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


@dataclass(frozen=True)
class Payload:
    """A request's JSON object and the size of its body in bytes."""

    data: dict[str, Any]
    size: int


def parse_json(request: HttpRequest, *, max_bytes: int) -> Payload:
    return decode_json(read_body(request, max_bytes=max_bytes))


def decode_json(raw: bytes) -> Payload:
    """A body as a JSON object: one value per key, no NaN, nesting within the parser."""
    try:
        body = json.loads(
            raw, parse_constant=_refuse_constant, object_pairs_hook=_one_value_per_key
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(INVALID, "body", f"invalid JSON: {exc}") from exc
    except RecursionError as exc:  # thousands of nested brackets
        raise ApiError(INVALID, "body", "JSON nested too deeply") from exc
    if not isinstance(body, dict):
        raise ApiError(INVALID, "body", "must be a JSON object")
    return Payload(data=body, size=len(raw))


def read_body(request: HttpRequest, *, max_bytes: int) -> bytes:
    """The request body, at most `max_bytes`. A chunked body (no Content-Length) is read from
    the stream itself: Django reads only as many bytes as Content-Length declares, and would
    see nothing."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    if not declared and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        raw = _read_stream(request.META["wsgi.input"], limit=max_bytes + 1)
    else:
        try:
            raw = request.body
        except RequestDataTooBig as exc:
            raise too_large(max_bytes) from exc
    if len(raw) > max_bytes:
        raise too_large(max_bytes)
    return raw


def _read_stream(stream: Any, *, limit: int) -> bytes:
    parts, size = [], 0
    while size < limit:
        part = stream.read(min(64 * KB, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _one_value_per_key(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a key given twice is refused (parsers disagree on which value wins, so a
    proxy or a log could read another event than the one recorded)."""
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {twice!r} appears twice in one object")
    return body


def too_large(max_bytes: int) -> ApiError:
    return ApiError(TOO_LARGE, "body", f"request body is over {max_bytes // KB} KB")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# Refusals made before the site (and so its origins) is known: a missing, unknown or revoked
# key and a wrong method. Their bodies hold nothing private and no credentials are ever
# allowed, so any page may read them; without CORS headers the browser would show the page a
# bare network error and the snippet would retry a revoked key as if it were offline.
READABLE_BEFORE_THE_ORIGIN_CHECK = frozenset({"unauthorized", "method_not_allowed"})


@dataclass
class Work:
    """What a view validated and will write: `cost` events for the rate limit, then `run`."""

    cost: int
    run: Callable[[], dict[str, Any]]


View = Callable[[Site, Payload], Work]


class Exchange:
    """One API request being answered: the Origin it came with, and whether its page may
    read the answer (set once the site is known and lists the origin)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.origin: str | None = request.headers.get("Origin")
        self.readable_by: str | None = None

    def admit(self, site: Site) -> None:
        """Refuse a page whose origin the site does not list (a page of its own is fine)."""
        if self.origin:
            if not origin_allowed(self.request, self.origin, site):
                raise ApiError("origin_not_allowed", "origin",
                               f"origin {self.origin} is not allowed")
            self.readable_by = self.origin


def answer(
    request: HttpRequest,
    handle: Callable[[Exchange], HttpResponse],
    *,
    refusal: Callable[[ApiError], HttpResponse] = error_response,
) -> HttpResponse:
    """Answer a POST with `handle`: every refusal (the envelope's ApiError, a service's
    domain error, a value the database refuses, an outage) becomes `refusal`'s 4xx/503,
    never a 500; CORS headers for an origin the site lists."""
    if request.method == "OPTIONS":
        return preflight(request)
    exchange = Exchange(request)
    try:
        if request.method != "POST":
            raise ApiError("method_not_allowed", "method", "use POST", Allow="POST, OPTIONS")
        response = handle(exchange)
    except ApiError as exc:
        response = refusal(exc)
        if exc.code in READABLE_BEFORE_THE_ORIGIN_CHECK:
            exchange.readable_by = exchange.origin
    except ValidationError as exc:  # a service's refusal (domain error with a code)
        response = refusal(api_error_of(exc))
    except DataError:
        # A value validation let through that the database refuses: still the client's
        # input, and the transaction rolled back. Logged, as validation should catch it.
        logger.exception("value refused by the database")
        response = refusal(ApiError(INVALID, None, "a value is out of range for the database"))
    except OperationalError:
        logger.exception("database unavailable")
        response = refusal(
            ApiError("unavailable", None, "database unavailable", Retry_After="1")
        )
    return _with_cors(response, exchange.readable_by)


def endpoint(*, max_bytes: int):
    """Wrap a view with the envelope. The view validates the body and returns its Work; the
    rate limit counts it only then (a refused request is not counted), and Work.run writes."""

    def decorate(view: View) -> Callable[[HttpRequest], HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            def handle(exchange: Exchange) -> HttpResponse:
                site = authenticate(request)
                exchange.admit(site)
                work = view(site, parse_json(request, max_bytes=max_bytes))
                return JsonResponse(run_work(work, site=site, client=client_key(request)))

            return answer(request, handle)

        return wrapper

    return decorate


def run_work(work: Work, *, site: Site, client: str) -> dict[str, Any]:
    """Count the validated work against the rate limits, then run it; a run that fails gives
    its events back (only accepted requests use up a window)."""
    taken = take(site=site, client=client, cost=max(1, work.cost))
    try:
        return work.run()
    except BaseException:
        give_back(taken)
        raise
