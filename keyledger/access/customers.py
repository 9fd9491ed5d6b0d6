from django.db.models import Prefetch, QuerySet
from django.http import Http404

from keyledger.customers.models import Account, Site
from keyledger.organisations.models import Organisation, User


def accounts_for_user(user: User) -> QuerySet[Account]:
    if not user.is_authenticated:
        return Account.objects.none()
    return Account.objects.filter(msp__path__startswith=user.organisation.path)


def get_account_for_user(user: User, account_id: int) -> Account:
    try:
        return accounts_for_user(user).select_related("msp").get(pk=account_id)
    except (Account.DoesNotExist, ValueError, TypeError):
        raise Http404("No such account.") from None


def sites_for_user(user: User) -> QuerySet[Site]:
    if not user.is_authenticated:
        return Site.objects.none()
    return Site.objects.filter(account__msp__path__startswith=user.organisation.path)


def get_site_for_user(user: User, site_id: int) -> Site:
    try:
        return sites_for_user(user).select_related("account__msp").get(pk=site_id)
    except (Site.DoesNotExist, ValueError, TypeError):
        raise Http404("No such site.") from None


def account_tree_for_user(user: User, msp: Organisation) -> list[Account]:
    """The MSP's accounts, each with its sites, sorted by name: two queries however many
    accounts and sites there are. `msp` must itself come through get_msp_for_user."""
    sites = Site.objects.by_name()
    return list(
        accounts_for_user(user).filter(msp=msp).by_name().prefetch_related(Prefetch("sites", queryset=sites))
    )
