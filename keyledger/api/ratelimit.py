"""Fixed-window request limits kept in Django's cache (shared by all web processes when the
cache is Redis): at most `limit` requests per identity per minute."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

WINDOW_SECONDS = 60


def hit(scope: str, identity: str, *, limit: int) -> int | None:
    """Count one request; None while within the limit, else the seconds until the window ends."""
    now = int(time.time())
    window = now // WINDOW_SECONDS
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    cache_key = f"keyledger:ratelimit:{scope}:{digest}:{window}"
    # add() then incr(): both atomic on Redis, so concurrent processes count every request.
    cache.add(cache_key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add() and incr()
        cache.set(cache_key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    if count <= limit:
        return None
    return max(1, WINDOW_SECONDS - now % WINDOW_SECONDS)
