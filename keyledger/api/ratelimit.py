"""Fixed-window request limits kept in Django's cache (shared by all web processes when the
cache is Redis): at most `limit` requests per identity per minute."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache

WINDOW_SECONDS = 60
TIMEOUT = WINDOW_SECONDS + 5


def hit(scope: str, identity: str, *, limit: int) -> int | None:
    """Count one request; None while within the limit, else the seconds until the window ends."""
    now = int(time.time())
    window = now // WINDOW_SECONDS
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    count = _count(caches["default"], f"keyledger:ratelimit:{scope}:{digest}:{window}")
    if count <= limit:
        return None
    return max(1, WINDOW_SECONDS - now % WINDOW_SECONDS)


def _count(cache: BaseCache, cache_key: str) -> int:
    """Add one to the window's counter and return it, atomically across processes."""
    if isinstance(cache, RedisCache):
        # Django's add() and incr() are three round trips to Redis (SET NX, EXISTS, INCR),
        # twice a call home; one pipeline does the same in one. Django stores an int as its
        # digits, so the counter stays readable through the cache API.
        key = cache.make_and_validate_key(cache_key)
        pipe = cache._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.set(key, 0, ex=TIMEOUT, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)
    # Every call after a window's first finds the counter: incr() alone, add() only to start it.
    try:
        return cache.incr(cache_key)
    except ValueError:
        pass
    if cache.add(cache_key, 1, timeout=TIMEOUT):
        return 1
    try:  # another request started the window meanwhile
        return cache.incr(cache_key)
    except ValueError:  # and it was evicted already
        cache.set(cache_key, 1, timeout=TIMEOUT)
        return 1
