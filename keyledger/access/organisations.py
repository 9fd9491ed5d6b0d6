from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Account
from keyledger.keys.statuses import critical_count
from keyledger.organisations.models import Organisation, User
from keyledger.organisations.roles import Permission


def require(user: User, permission: Permission) -> None:
    """Refuse (403) what the user's role does not allow, inside its own subtree."""
    if not user.is_authenticated or not user.can(permission):
        raise PermissionDenied(f"Your role does not allow this ({permission.value}).")


def organisations_for_user(user: User) -> QuerySet[Organisation]:
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(path__startswith=user.organisation.path)


def get_organisation_for_user(user: User, organisation_id: int, *, kind: str | None = None) -> Organisation:
    qs = organisations_for_user(user).select_related("parent")
    if kind is not None:
        qs = qs.filter(kind=kind)
    try:
        return qs.get(pk=organisation_id)
    except (Organisation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such organisation.") from None


def msps_for_user(user: User) -> QuerySet[Organisation]:
    return organisations_for_user(user).filter(kind=Organisation.Kind.MSP)


def msps_with_counts_for_user(user: User, *, now: datetime) -> QuerySet[Organisation]:
    """The user's MSPs, each with `account_count`, `key_count` and `critical_count` (keys
    Critical as of `now`, as ProductKey.state_at says): one query for a whole page. Accounts
    are counted in a subquery so that joining them does not multiply the keys."""
    accounts = (
        Account.objects.filter(msp=OuterRef("pk"))
        .order_by()
        .values("msp")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return msps_for_user(user).annotate(
        account_count=Coalesce(Subquery(accounts), 0),
        key_count=Count("product_keys"),
        critical_count=critical_count(now, prefix="product_keys__"),
    )


def get_msp_for_user(user: User, organisation_id: int) -> Organisation:
    return get_organisation_for_user(user, organisation_id, kind=Organisation.Kind.MSP)


def users_for_user(user: User) -> QuerySet[User]:
    if not user.is_authenticated:
        return User.objects.none()
    return User.objects.filter(organisation__path__startswith=user.organisation.path)


def audit_for_user(user: User) -> QuerySet[AuditEntry]:
    if not user.is_authenticated:
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(organisation_path__startswith=user.organisation.path)
