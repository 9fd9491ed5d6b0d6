from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission

TOKEN_PREFIX = "kl_"  # noqa: S105 (a label, not a secret)
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_PREFIX_RANDOM_LENGTH = 8
# last_used_at is written at most this often: the hot path of every API call stays a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)
READ_PERMISSIONS = frozenset({Permission.VIEW_KEYS, Permission.VIEW_REPORTS, Permission.VIEW_AUDIT})


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_token(token: str) -> str | None:
    """The visible prefix of a presented token ("kl_ab12cd34"), or None when it is not one of ours."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    # The prefix's alphabet has no "_"; the secret may.
    random_part, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not secret or len(random_part) != _PREFIX_RANDOM_LENGTH:
        return None
    return TOKEN_PREFIX + random_part


class ApiToken(models.Model):
    """A per-organisation credential for the REST API.

    The full token ("kl_" + 8 visible characters + "_" + the secret) is shown once when it
    is created; only its SHA-256 is stored, so a copy of the database opens nothing. The
    prefix stays visible so that people can tell their tokens apart and find one in logs.
    """

    class Scope(models.TextChoices):
        READ_ONLY = "read-only", "Read-only"
        READ_WRITE = "read-write", "Read and write"

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.READ_ONLY)
    created_by = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @staticmethod
    def new_prefix() -> str:
        return TOKEN_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(_PREFIX_RANDOM_LENGTH))

    @staticmethod
    def new_secret() -> str:
        return secrets.token_urlsafe(32)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_read_only(self) -> bool:
        return self.scope == self.Scope.READ_ONLY

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(token))

    def allows(self, permission: Permission) -> bool:
        if self.is_read_only:
            return permission in READ_PERMISSIONS
        return True

    def record_use(self, now: datetime) -> None:
        """Remember when the token was last used, writing at most once a minute."""
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        ApiToken.objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        self.last_used_at = now

    def as_principal(self) -> TokenPrincipal:
        return TokenPrincipal(token=self)


@dataclass(frozen=True)
class TokenPrincipal:
    """A token standing in for a user at the door (keyledger.access): it reaches its
    organisation's subtree, and may do what its scope allows."""

    token: ApiToken
    is_authenticated = True
    is_active = True

    @property
    def organisation(self) -> Organisation:
        return self.token.organisation

    @property
    def is_vendor_staff(self) -> bool:
        return self.organisation.kind == Organisation.Kind.VENDOR

    def can(self, permission: Permission) -> bool:
        return self.token.allows(permission)
