from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from keyledger.organisations.naming import SORT_NAME_MAX_LENGTH, natural_sort_key
from keyledger.organisations.roles import Permission, Role, role_allows


class Organisation(models.Model):
    """A node of the channel tree: vendor → distributor (→ sub-distributor | Master MSP …) → MSP."""

    class Kind(models.TextChoices):
        VENDOR = "vendor", "Vendor"
        DISTRIBUTOR = "distributor", "Distributor"
        MSP = "msp", "MSP"

    class PortalAccess(models.TextChoices):
        NONE = "none", "No portal access"
        INVITED = "invited", "Invited"
        ACTIVE = "active", "Active"
        WITHDRAWN = "withdrawn", "Access withdrawn"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    # natural_sort_key(name), written by the actions that name or rename: lists order by it.
    sort_name = models.CharField(max_length=SORT_NAME_MAX_LENGTH, editable=False, default="")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of ids, "/1/4/9/": a subtree is one indexed prefix match on any database.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    is_master_msp = models.BooleanField(default=False, help_text="A distributor that is also an MSP.")
    region = models.CharField(max_length=100, blank=True)

    # The distributor's agreement with the vendor; vendor staff set it.
    may_invite_msps = models.BooleanField("may invite MSPs (portal access)", default=False)
    may_provision_cloud = models.BooleanField("may provision Cloud Services", default=False)
    may_create_subdistributors = models.BooleanField("may create sub-distributors", default=False)

    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)

    portal_access = models.CharField(max_length=16, choices=PortalAccess.choices, default=PortalAccess.NONE)
    # Starts the numbers of the statements this organisation issues ("NW" → NW-2026-11-0007).
    statement_prefix = models.CharField(
        max_length=8, blank=True, help_text="Letters and digits; blank: the initials of the name."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sort_name", "pk"]
        indexes = [models.Index(fields=["kind", "sort_name"], name="organisation_kind_sort_name")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="vendor", parent__isnull=True) | models.Q(parent__isnull=False),
                name="organisation_only_vendor_is_root",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def kind_label(self) -> str:
        if self.kind == self.Kind.DISTRIBUTOR and self.is_master_msp:
            return "Master MSP"
        if (
            self.kind == self.Kind.DISTRIBUTOR
            and self.parent_id
            and self.parent.kind == self.Kind.DISTRIBUTOR
        ):
            return "Sub-distributor"
        return self.get_kind_display()

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def is_within(self, other: Organisation) -> bool:
        """True when self is other or lies below it."""
        return self.path.startswith(other.path)

    @property
    def can_create_msps(self) -> bool:
        return self.kind == self.Kind.DISTRIBUTOR

    @property
    def can_invite_msps(self) -> bool:
        return self.kind == self.Kind.DISTRIBUTOR and self.may_invite_msps

    @property
    def can_create_distributors(self) -> bool:
        return self.kind == self.Kind.VENDOR or (
            self.kind == self.Kind.DISTRIBUTOR and self.may_create_subdistributors
        )

    @property
    def has_portal_access(self) -> bool:
        return self.portal_access == self.PortalAccess.ACTIVE

    def build_path(self) -> str:
        prefix = self.parent.path if self.parent_id else "/"
        return f"{prefix}{self.pk}/"


def user_sort_name(*, full_name: str, email: str) -> str:
    """A user is listed by name, or by email when it has none."""
    return natural_sort_key(full_name.strip() or email)


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        email = self.normalize_email(email).lower()
        fields["sort_name"] = user_sort_name(full_name=fields.get("full_name", ""), email=email)
        user = self.model(email=email, **fields)
        user.set_password(password)
        user.save()
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        from keyledger.organisations.queries import vendor_organisation

        fields.setdefault("organisation", vendor_organisation())
        fields.update(is_staff=True, is_superuser=True, role=Role.ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    # natural_sort_key(full_name or email), as the users list shows a user: see user_sort_name.
    sort_name = models.CharField(max_length=SORT_NAME_MAX_LENGTH, editable=False, default="")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="users")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin (vendor staff).")
    date_joined = models.DateTimeField(default=timezone.now)
    # An IANA name (Europe/Berlin) the portal shows times in; blank: not chosen yet (UTC).
    time_zone = models.CharField(max_length=64, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        indexes = [models.Index(fields=["sort_name"], name="user_sort_name")]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_case_insensitive_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_vendor_staff(self) -> bool:
        return self.organisation.kind == Organisation.Kind.VENDOR

    def can(self, permission: Permission) -> bool:
        return self.is_active and role_allows(self.role, permission)

    @property
    def may_sign_in(self) -> bool:
        """Users of an organisation whose portal access is not active are locked out (data is kept)."""
        return self.is_active and self.organisation.has_portal_access


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self, at: datetime) -> InvitationQuerySet:
        """Links that can still be followed: not used, not revoked, not expired."""
        return self.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=at)


class Invitation(models.Model):
    """A single-use, expiring link that lets someone set a password (and, for an MSP, complete its details).

    Only the SHA-256 of the token is stored: a copy of the database opens no account.
    """

    class Purpose(models.TextChoices):
        FIRST_LOGIN = "first_login", "First login of a new organisation"
        MSP_INVITE = "msp_invite", "MSP invited to the portal"
        USER = "user", "New user of an existing organisation"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    email = models.EmailField()
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ADMIN)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.organisation}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def is_usable_at(self, when: datetime) -> bool:
        return self.status_at(when) == "usable"

    def status_at(self, when: datetime) -> str:
        """usable, used, revoked or expired: what the person following the link is told."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if when >= self.expires_at:
            return "expired"
        return "usable"


class TermsVersion(models.Model):
    """Terms of Service, versioned; the newest published version must be accepted before anything else."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200, default="Terms of Service")
    text = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class TermsAcceptance(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="terms_acceptances")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    terms = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("user", "terms", name="terms_accepted_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user} accepted v{self.terms.version} at {self.accepted_at:%Y-%m-%d %H:%M}"
