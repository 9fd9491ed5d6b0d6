"""Wrong-password throttling, kept in Django's cache so every web process counts the same
failures (Redis when REDIS_URL is set; the per-process memory cache otherwise).

Per account (the normalised email, whether or not such a user exists):
KEYLEDGER_SIGN_IN_MAX_FAILURES failures (5), each within KEYLEDGER_SIGN_IN_WINDOW_MINUTES (15)
of the one before, lock the email for KEYLEDGER_SIGN_IN_LOCK_MINUTES (1). Every further
failure within the window after a lock has passed locks it again for twice as long (1, 2, 4,
8 … minutes) up to KEYLEDGER_SIGN_IN_MAX_LOCK_MINUTES (60); the doubling is remembered for a
day. While locked, even the right password is refused
(the caller asks `check` before checking the password). Attempts refused by a lock test no
password and are not counted, so waiting out a lock is all anyone can do.

Per IP address: KEYLEDGER_SIGN_IN_MAX_FAILURES_PER_IP failures (50) within the window lock
the address for the window's length.

A successful sign-in calls `reset(email=...)`: the account's count and lock level go (the
address's count stays, so one good account cannot launder an address's guesses).

Other steps of signing in (a second factor's wrong code) call the same functions, with the
same scope to share the account's budget or a scope of their own to keep a separate one.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

SIGN_IN = "sign-in"

# Lock levels are remembered this long after the last failure, so the delay keeps growing
# for someone who comes back after a lock and the count window have both passed.
LEVEL_MEMORY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may go ahead: `wait_seconds` is 0 when it may."""

    wait_seconds: int = 0
    # A lock was set by this failure (the caller audits a lockout): the email's, the address's.
    locked_now: bool = False
    account_locked: bool = False
    ip_locked: bool = False
    ip_locked_now: bool = False

    @property
    def allowed(self) -> bool:
        return self.wait_seconds <= 0

    @property
    def wait_minutes(self) -> int:
        return max(1, math.ceil(self.wait_seconds / 60))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _key(scope: str, kind: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"keyledger:throttle:{scope}:{kind}:{digest}"


def _bump(key: str, timeout: int, *, slide: bool = True) -> int:
    """Add one to a shared counter; it lasts `timeout` seconds from now (`slide`) or from its first count."""
    # add() then incr(): each atomic on Redis, so concurrent processes count every failure.
    cache.add(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1
    if slide:
        cache.touch(key, timeout)
    return count


def _remaining(key: str, now: float) -> int:
    until = cache.get(key)
    if until is None:
        return 0
    return max(0, math.ceil(float(until) - now))


def _window() -> int:
    return settings.KEYLEDGER_SIGN_IN_WINDOW_MINUTES * 60


def lock_seconds(level: int) -> int:
    """How long the `level`-th lock in a row lasts: 1, 2, 4 … minutes up to the cap."""
    first = settings.KEYLEDGER_SIGN_IN_LOCK_MINUTES * 60
    cap = settings.KEYLEDGER_SIGN_IN_MAX_LOCK_MINUTES * 60
    return min(cap, first * 2 ** min(max(level, 1) - 1, 20))


def check(*, email: str, ip: str | None, scope: str = SIGN_IN) -> Verdict:
    """May someone try a password (or code) for this email from this address now?"""
    now = time.time()
    account = _remaining(_key(scope, "lock", normalise_email(email)), now)
    address = _remaining(_key(scope, "ip-lock", ip), now) if ip else 0
    return Verdict(wait_seconds=max(account, address), account_locked=account > 0, ip_locked=address > 0)


def register_failure(*, email: str, ip: str | None, scope: str = SIGN_IN) -> Verdict:
    """Count one wrong password (or code); the verdict says whether that locked anything."""
    now = time.time()
    window = _window()
    identity = normalise_email(email)
    locked_now = False
    account_wait = 0
    failures = _key(scope, "failures", identity)
    if _bump(failures, window) >= settings.KEYLEDGER_SIGN_IN_MAX_FAILURES:
        level = _bump(_key(scope, "level", identity), LEVEL_MEMORY_SECONDS)
        account_wait = lock_seconds(level)
        cache.set(_key(scope, "lock", identity), now + account_wait, timeout=account_wait)
        # The count outlasts the lock by a window: one more failure after it locks again, for longer.
        cache.touch(failures, account_wait + window)
        locked_now = True
    ip_wait = 0
    ip_locked_now = False
    per_ip = settings.KEYLEDGER_SIGN_IN_MAX_FAILURES_PER_IP
    if ip and _bump(_key(scope, "ip-failures", ip), window) >= per_ip:
        ip_wait = window
        ip_locked_now = cache.get(_key(scope, "ip-lock", ip)) is None
        cache.set(_key(scope, "ip-lock", ip), now + ip_wait, timeout=ip_wait)
    return Verdict(
        wait_seconds=max(account_wait, ip_wait),
        locked_now=locked_now or ip_locked_now,
        account_locked=account_wait > 0,
        ip_locked=ip_wait > 0,
        ip_locked_now=ip_locked_now,
    )


def reset(*, email: str, scope: str = SIGN_IN) -> None:
    """Forget the account's failures and lock level (after a successful sign-in)."""
    identity = normalise_email(email)
    cache.delete_many([_key(scope, kind, identity) for kind in ("failures", "level", "lock")])


def allow_request(*, scope: str, identity: str, limit: int, window_seconds: int = 3600) -> bool:
    """A plain request budget (e.g. password reset emails): `limit` per identity per window."""
    if not identity:
        return True
    return _bump(_key(scope, "requests", identity), window_seconds, slide=False) <= limit
