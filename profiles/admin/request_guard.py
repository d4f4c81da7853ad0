"""Admin requests carrying a NUL character are refused with 400 before any view runs.

PostgreSQL text cannot hold NUL (U+0000): a query string such as `?name=%00` on a changelist
reaches the database as a lookup and fails there (a 500). No admin form or link ever sends one,
so one check answers them all with a plain "Bad request".
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values)
               for key, values in data.lists())


class AdminNulGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(reverse("admin:index")) and (
            "\x00" in request.path or _has_nul(request.GET)
            or (request.method == "POST" and _has_nul(request.POST))
        ):
            return HttpResponseBadRequest(
                "Bad request: a parameter holds a NUL character, which no admin page sends.",
                content_type="text/plain; charset=utf-8")
        return self.get_response(request)
