"""What each role may do. Roles are per user; the subtree a user reaches is its organisation's."""

from enum import Enum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    BILLING = "billing", "Billing"
    READ_ONLY = "read-only", "Read-only"


class Permission(Enum):
    MANAGE_ORGANISATIONS = "manage_organisations"  # New MSP, Invite, portal access, agreements, users
    CHANGE_KEYS = "change_keys"  # accounts, sites, keys
    VIEW_KEYS = "view_keys"
    VIEW_REPORTS = "view_reports"  # reports, statements, the prices the organisation pays or charges
    FINALISE_STATEMENTS = "finalise_statements"  # Finalise a draft statement the organisation issues
    MANAGE_PRICES = "manage_prices"  # the price lists the organisation issues
    VIEW_AUDIT = "view_audit"


GRANTS: dict[str, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MEMBER: frozenset({Permission.CHANGE_KEYS, Permission.VIEW_KEYS, Permission.VIEW_REPORTS}),
    Role.BILLING: frozenset({Permission.VIEW_REPORTS, Permission.FINALISE_STATEMENTS}),
    Role.READ_ONLY: frozenset({Permission.VIEW_KEYS, Permission.VIEW_REPORTS}),
}


def role_allows(role: str, permission: Permission) -> bool:
    return permission in GRANTS.get(role, frozenset())
