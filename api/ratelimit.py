"""Rate limits: per site, and per client of a site (its IP address), in fixed one-minute windows.

A request is counted only once it is accepted: the envelope validates it first, and gives its
events back if writing them then fails. The site's counter and the client's are checked and
counted in one atomic step, so that a refused request counts nowhere:
- with `CACHE_URL` naming Redis, by a Lua script in Redis, shared by every web process;
- otherwise in Django's cache under a lock of this process (the default memory cache counts
  each process on its own: `manage.py check --deploy` warns, api.W001).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from functools import cache as memoize

from django.conf import settings
from django.core.cache import cache

from api.errors import ApiError
from profiles.models import Site
from profiles.services.errors import TOO_LARGE

WINDOW_SECONDS = 60
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"

# KEYS: the counters; ARGV: cost, time to live, then each counter's limit (0: none). Returns 0
# when counted, else the 1-based index of the first counter that refused (nothing counted).
TAKE_SCRIPT = """
local cost = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 2])
  if limit > 0 and tonumber(redis.call('GET', key) or '0') + cost > limit then return i end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCRBY', key, cost) == cost then redis.call('EXPIRE', key, ARGV[2]) end
end
return 0
"""
GIVE_BACK_SCRIPT = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('DECRBY', key, ARGV[1]) end
end
return 0
"""


@dataclass(frozen=True)
class Taken:
    """Events counted for a request: given back if the request then fails."""

    keys: tuple[str, ...]
    cost: int


def take(*, site: Site, client: str, cost: int) -> Taken | None:
    """Count `cost` events against the site's limit and the client's sub-limit.

    Raises ApiError: `too_large` (413, nothing counted) when `cost` alone is over a whole
    minute's limit, `rate_limited` (429 with Retry-After, nothing counted) when over a limit
    now. Returns what to give back if the request fails, or None when nothing is limited.
    """
    limits = _limits(site)
    if not any(limits):
        return None
    for limit, whose in zip(limits, ("this site's", "one client's"), strict=True):
        if limit and cost > limit:
            raise ApiError(
                TOO_LARGE, "batch",
                f"{cost} events is more than {whose} rate limit of {limit} events per minute;"
                f" send at most {limit} events per request",
            )
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    keys = (f"onefold:rate:{site.pk}:{window}", f"onefold:rate:{site.pk}:{client}:{window}")
    refused = _counter().take(keys, limits, cost)
    if refused:
        wait = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
        whose = "this site" if refused == 1 else "your address"
        raise ApiError("rate_limited", None, f"rate limit exceeded for {whose}",
                       Retry_After=str(wait))
    return Taken(keys=keys, cost=cost)


def give_back(taken: Taken | None) -> None:
    """Uncount a request that was counted but then refused or failed."""
    if taken is not None:
        _counter().give_back(taken.keys, taken.cost)


def _limits(site: Site) -> tuple[int, int]:
    """(site limit, client limit); 0 means none. A client never gets more than the site."""
    site_limit = site.rate_limit_per_minute
    client_limit = site.rate_limit_per_client_per_minute
    if site_limit and client_limit:
        client_limit = min(client_limit, site_limit)
    return site_limit, client_limit


class _RedisCounter:
    """Both counters in one Lua script: atomic across every web process and machine."""

    def __init__(self) -> None:
        # Django's own client for the default cache: its pool, its server (one LOCATION).
        client = cache._cache.get_client(write=True)
        self._take = client.register_script(TAKE_SCRIPT)
        self._give_back = client.register_script(GIVE_BACK_SCRIPT)

    def take(self, keys: tuple[str, ...], limits: tuple[int, ...], cost: int) -> int:
        return int(self._take(keys=list(keys), args=[cost, WINDOW_SECONDS * 2, *limits]))

    def give_back(self, keys: tuple[str, ...], cost: int) -> None:
        self._give_back(keys=list(keys), args=[cost])


class _CacheCounter:
    """Any other cache: checked and counted under a lock of this process."""

    _lock = threading.Lock()

    def take(self, keys: tuple[str, ...], limits: tuple[int, ...], cost: int) -> int:
        with self._lock:
            counts = cache.get_many(keys)
            for index, (key, limit) in enumerate(zip(keys, limits, strict=True), start=1):
                if limit and counts.get(key, 0) + cost > limit:
                    return index
            for key in keys:
                if not cache.add(key, cost, timeout=WINDOW_SECONDS * 2):
                    cache.incr(key, cost)
            return 0

    def give_back(self, keys: tuple[str, ...], cost: int) -> None:
        with self._lock:
            for key in keys:
                # The window's counter expired meanwhile: nothing to give back.
                with contextlib.suppress(ValueError):
                    cache.decr(key, cost)


def _counter() -> _RedisCounter | _CacheCounter:
    default = settings.CACHES["default"]
    return _counter_for(default["BACKEND"], str(default.get("LOCATION", "")))


@memoize
def _counter_for(backend: str, location: str) -> _RedisCounter | _CacheCounter:
    """One counter per cache configuration (tests change it); Redis clients are thread-safe."""
    return _RedisCounter() if backend == REDIS_CACHE else _CacheCounter()
