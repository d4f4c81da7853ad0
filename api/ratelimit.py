"""Per-key rate limit: a fixed one-minute window counted in Django's cache.

With CACHE_URL pointing at Redis every web process shares the counters; with the default
per-process memory cache each process counts on its own (fine for one process and for tests).
"""

from __future__ import annotations

import time

from django.core.cache import cache

from profiles.models import Site

WINDOW_SECONDS = 60


def retry_after(*, site: Site, cost: int = 1) -> int | None:
    """Count `cost` events for the site; seconds to wait when over its limit, else None."""
    limit = site.rate_limit_per_minute
    if not limit:
        return None  # 0 means unlimited
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"onefold:ratelimit:{site.pk}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key, cost)
    except ValueError:  # expired between add and incr
        cache.add(key, cost, timeout=WINDOW_SECONDS * 2)
        count = cost
    if count <= limit:
        return None
    return max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
