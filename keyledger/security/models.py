from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from keyledger.security.devices import describe_device

# The entry of a signed-in session that holds its token (see keyledger.security.sessions).
SESSION_ENTRY = "keyledger_sign_in"


def hash_session_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignInSession(models.Model):
    """One signed-in browser session of a user, for the profile's list and for ending it.

    The session itself keeps a random token; only its SHA-256 is stored here, so this table
    opens no session. A session whose row is gone is signed out on its next request."""

    class End(models.TextChoices):
        IDLE = "idle", "signed out after a period without activity"
        LIFETIME = "lifetime", "signed out because the session reached its maximum age"
        ENDED = "ended", "signed out from another session or by a password change"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} on {self.device}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

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
