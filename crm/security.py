"""Who is asking: the client's IP address as the login throttle (django-axes) counts it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; behind ONEFOLD_TRUSTED_PROXIES proxies, the address the outermost one saw.

    Each trusted proxy appends the address it received the request from to X-Forwarded-For,
    so the client is the entry that many places from the right. Entries further left were
    written by the client itself and are never trusted (else rotating a made-up header would
    dodge the lockout).
    """
    proxies = settings.ONEFOLD_TRUSTED_PROXIES
    remote = request.META.get("REMOTE_ADDR") or None
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if part.strip()]
    if len(forwarded) < proxies:
        return remote  # not through the proxies we were told about
    return forwarded[-proxies]


def locked_out(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the admin's own page, HTTP 429."""
    from django.contrib import admin
    from django.template.response import TemplateResponse

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    # Rendered here: a middleware's response is not rendered by the view machinery.
    return TemplateResponse(request, "admin/locked_out.html", {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": minutes,
    }, status=429).render()
