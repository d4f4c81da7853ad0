"""Per-key rate limit: a fixed one-minute window counted in Django's cache.

With CACHE_URL pointing at Redis every web process shares the counters; with the default
per-process memory cache each process counts on its own (fine for one process and for tests).
"""

from __future__ import annotations

import contextlib
import time

from django.core.cache import cache

from api.errors import ApiError
from profiles.models import Site
from profiles.services.errors import TOO_LARGE

WINDOW_SECONDS = 60


def over_whole_limit(*, cost: int, limit: int) -> ApiError:
    """A request weighing more events than the site allows in a whole minute.

    Waiting can never make it fit, so it is a 413 on the `batch` field, not a 429: the client
    must split it.
    """
    return ApiError(
        TOO_LARGE,
        "batch",
        f"{cost} events is more than this site's rate limit of {limit} events per minute;"
        f" send at most {limit} events per request",
    )


def retry_after(*, site: Site, cost: int = 1) -> int | None:
    """Count `cost` events for the site; seconds to wait when over its limit, else None.

    Raises an ApiError (too_large, counting nothing) when `cost` alone is over the limit. A refused
    request is not counted: only accepted events use up the window.
    """
    limit = site.rate_limit_per_minute
    if not limit:
        return None  # 0 means unlimited
    if cost > limit:
        raise over_whole_limit(cost=cost, limit=limit)
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"onefold:ratelimit:{site.pk}:{window}"
    if _count(key, cost) <= limit:
        return None
    _give_back(key, cost)
    return max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))


def _count(key: str, cost: int) -> int:
    """Add `cost` to the window's counter (created at 0 if missing) and return the new total."""
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        return cache.incr(key, cost)
    except ValueError:  # expired between add and incr
        if cache.add(key, cost, timeout=WINDOW_SECONDS * 2):
            return cost
        return cache.incr(key, cost)  # another request created it meanwhile


def _give_back(key: str, cost: int) -> None:
    # incr then decr is not one atomic step: a request counted in between may see the refused
    # cost and be refused too (rare, and it may retry). Without it a refused burst would keep
    # the site blocked for the rest of the minute.
    with contextlib.suppress(ValueError):  # the counter expired meanwhile: nothing to give back
        cache.decr(key, cost)
