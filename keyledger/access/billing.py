"""The door to billing data: price lists and statements.

An organisation sees the price lists and statements of which it, or an organisation below
it, is the customer: its own bill and cost, and what it charges below. Never a sibling's,
never what its parent pays. Only the issuer changes a list or finalises a statement.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from keyledger.access.organisations import require
from keyledger.billing.models import PriceList, Statement
from keyledger.organisations.models import User
from keyledger.organisations.roles import Permission


def price_lists_for_user(user: User) -> QuerySet[PriceList]:
    if not user.is_authenticated:
        return PriceList.objects.none()
    return PriceList.objects.filter(customer__path__startswith=user.organisation.path)


def get_price_list_for_user(user: User, price_list_id: int) -> PriceList:
    try:
        return price_lists_for_user(user).select_related("issuer", "customer").get(pk=price_list_id)
    except (PriceList.DoesNotExist, ValueError, TypeError):
        raise Http404("No such price list.") from None


def require_issuer(user: User, *, issuer_id: int, permission: Permission) -> None:
    """Refuse (403) a change to a price list or statement the user's organisation does not issue."""
    require(user, permission)
    if user.organisation.pk != issuer_id:  # a user or an API token (TokenPrincipal)
        raise PermissionDenied("Only the organisation that issues it may change it.")


def statements_for_user(user: User) -> QuerySet[Statement]:
    if not user.is_authenticated:
        return Statement.objects.none()
    return Statement.objects.filter(customer__path__startswith=user.organisation.path)


def get_statement_for_user(user: User, statement_id: int) -> Statement:
    try:
        return statements_for_user(user).select_related("issuer", "customer").get(pk=statement_id)
    except (Statement.DoesNotExist, ValueError, TypeError):
        raise Http404("No such statement.") from None
