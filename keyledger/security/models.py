from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone

from keyledger.security.devices import describe_device


def hash_session_key(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


class SignInSession(AbstractBaseSession):
    """A browser session, as Django keeps it (SESSION_ENGINE is keyledger.security.session_store),
    with whose it is, where it was last seen from and when: the profile's list of sessions.

    Only the SHA-256 of the session key is stored, so a copy of this table opens no session.
    Deleting a row ends that session: its next request arrives signed out."""

    class End(models.TextChoices):
        IDLE = "idle", "signed out after a period without activity"
        LIFETIME = "lifetime", "signed out because the session reached its maximum age"

    session_key = models.CharField("session key hash", max_length=64, primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    # A new key (signing in, a password change) is a new row: this is when that happened.
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]
        verbose_name = "session"

    def __str__(self) -> str:
        return f"{self.user or 'Signed-out visitor'} on {self.device}"

    @classmethod
    def get_session_store_class(cls):
        from keyledger.security.session_store import SessionStore

        return SessionStore

    @property
    def device(self) -> str:
        return describe_device(self.user_agent)

    def end_reason_at(self, when: datetime) -> str | None:
        """Why the session is over at `when` (idle or lifetime), or None while it lasts."""
        if when - self.created_at >= timedelta(days=settings.KEYLEDGER_SESSION_MAX_DAYS):
            return self.End.LIFETIME
        if when - self.last_seen_at >= timedelta(hours=settings.KEYLEDGER_SESSION_IDLE_HOURS):
            return self.End.IDLE
        return None
