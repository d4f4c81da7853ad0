"""Deployment checks (`manage.py check --deploy`) for the website API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.security, deploy=True)
def check_shared_rate_limits(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Rate-limit counters live in the default cache: a per-process cache multiplies a site's
    limit by the number of web processes (two granian workers let twice the limit through)."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            "API rate limits are counted per web process: the default cache is "
            f"{backend.rsplit('.', 1)[-1]}, so each process allows a site its whole limit.",
            hint="Set CACHE_URL to a shared cache, e.g. redis://127.0.0.1:6379/2.",
            id="api.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_demo_is_off(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """The demo shop's write key is in this repository and its page signs any login: with the
    demo on, anyone can write with that key and claim any user through it."""
    if not getattr(settings, "ONEFOLD_DEMO", False):
        return []
    return [
        Warning(
            "The demo shop is on: its public write key is accepted and its page signs a login "
            "for any user ID.",
            hint="Set ONEFOLD_DEMO=false in production.",
            id="api.W002",
        )
    ]
