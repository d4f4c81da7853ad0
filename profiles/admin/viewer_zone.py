"""Admin pages show dates in the viewer's own time zone.

The admin's base template (templates/admin/base_site.html) stores the browser's IANA zone
(`Intl.DateTimeFormat().resolvedOptions().timeZone`) in the `onefold_tz` cookie; this
middleware activates it for admin requests, so every date Django renders there (lists, forms,
history) and every date our pages format is in that zone, with its abbreviation. An unknown or
missing zone leaves the server's TIME_ZONE.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

COOKIE = "onefold_tz"


@lru_cache(maxsize=512)
def zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone for an IANA name; None for anything else (a forged cookie included)."""
    if not name or len(name) > 64 or not name.isascii():
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


class ViewerTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_named(unquote(request.COOKIES.get(COOKIE) or ""))
        if zone is None or not request.path.startswith(reverse("admin:index")):
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
