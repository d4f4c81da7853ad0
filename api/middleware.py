"""Middleware for the website API's paths."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from api.errors import ApiError, error_response


class ApiHostMiddleware:
    """A request to /api/ (or the Segment API's /v1/) whose Host is not in ALLOWED_HOSTS gets
    the API's JSON 400.

    Django would answer an HTML page and log an ERROR line with a traceback for each such
    request, so anyone could flood the logs. First in MIDDLEWARE, since the next ones ask for
    the host. Other paths keep Django's behaviour.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        prefix = settings.ONEFOLD_SEGMENT_PREFIX
        # The website API's own paths and the Segment tracking API's (api/segment/).
        self.api_paths = ("/api/", f"/{prefix}/v1/" if prefix else "/v1/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.api_paths):
            try:
                request.get_host()
            except DisallowedHost:
                return error_response(
                    ApiError("invalid", "host", "this server does not answer for that Host")
                )
        return self.get_response(request)
