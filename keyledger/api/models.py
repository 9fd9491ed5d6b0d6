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

from keyledger.organisations.models import Organisation, User
from keyledger.organisations.roles import Permission, Role, role_allows

TOKEN_PREFIX = "kl_"  # noqa: S105 (a label, not a secret)
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_PREFIX_RANDOM_LENGTH = 8
# last_used_at is written at most this often: the hot path of every API call stays a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)
READ_PERMISSIONS = frozenset({Permission.VIEW_KEYS, Permission.VIEW_REPORTS, Permission.VIEW_AUDIT})
# What bounds a token that no user of its organisation stands behind: made before tokens
# recorded their creator, or by vendor staff for another organisation (the admin, a script).
UNKNOWN_CREATOR_ROLE = Role.READ_ONLY


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
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The address of the latest request: a request from the same address skips the look-up
    # in ApiTokenAddress, so the hot path stays a read.
    last_ip = models.GenericIPAddressField(null=True, blank=True)
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

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def bounding_user(self) -> User | None:
        """The user whose current role bounds the token: its creator, when a user of the
        token's organisation; None for a token without a known creator (UNKNOWN_CREATOR_ROLE)."""
        creator = self.created_by
        if creator is None or creator.organisation_id != self.organisation_id:
            return None
        return creator

    def refusal(self, now: datetime) -> str | None:
        """Why the token may not be used at all now, in words for the program's owner; or None."""
        if self.is_revoked:
            return "This API token is revoked."
        if self.is_expired(now):
            return f"This API token expired on {self.expires_at:%Y-%m-%d %H:%M} UTC."
        creator = self.created_by
        if creator is None:
            return None
        if not creator.is_active:
            return f"The user who created this API token ({creator.email}) is deactivated."
        # Vendor staff may make a token for another organisation; anyone else who is not a user
        # of it (any more) no longer stands behind the token.
        if creator.organisation_id != self.organisation_id and not creator.is_vendor_staff:
            return f"The user who created this API token ({creator.email}) is no longer a user of {self.organisation.name}."
        return None

    @property
    def bounding_role(self) -> str:
        """The role whose permissions the token never exceeds: its creator's, as it is now."""
        user = self.bounding_user
        return UNKNOWN_CREATOR_ROLE if user is None else user.role

    @property
    def bounding_role_label(self) -> str:
        return Role(self.bounding_role).label

    def allows(self, permission: Permission) -> bool:
        """The lesser of the token's scope and its creator's current role. The caller has
        refused the token already when its creator is deactivated or gone (`refusal`)."""
        if self.is_read_only and permission not in READ_PERMISSIONS:
            return False
        return role_allows(self.bounding_role, permission)

    @property
    def may_change(self) -> bool:
        """Whether anything at all may be changed with the token."""
        return any(self.allows(p) for p in Permission if p not in READ_PERMISSIONS)

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


class ApiTokenAddress(models.Model):
    """An IP address a token has been used from; a new one is audited."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="addresses")
    ip = models.GenericIPAddressField()
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "ip"], name="api_token_address_unique")]

    def __str__(self) -> str:
        return f"{self.token.prefix} from {self.ip}"


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
