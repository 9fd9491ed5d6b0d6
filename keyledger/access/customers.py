from datetime import datetime

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from keyledger.customers.models import Account, Site
from keyledger.keys.statuses import critical_count
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


def account_tree_for_user(
    user: User,
    msp: Organisation,
    *,
    counts_at: datetime | None = None,
    name_contains: str = "",
    lazy: bool = False,
) -> list[Account] | QuerySet[Account]:
    """The MSP's accounts, each with its sites, in natural name order: two queries however
    many accounts and sites there are. `msp` must itself come through get_msp_for_user.

    With `counts_at`, every account and site also carries `key_count` and `critical_count`,
    its keys and those Critical at that time (an account's include its sites' keys), counted
    in the same two queries. `name_contains` keeps the accounts whose name contains it;
    `lazy` returns the queryset, for a paginator to cut before the sites are fetched."""
    sites = Site.objects.by_name()
    accounts = accounts_for_user(user).filter(msp=msp).by_name()
    if name_contains:
        accounts = accounts.filter(name__icontains=name_contains)
    if counts_at is not None:
        sites = sites.annotate(**_key_counts(counts_at))
        accounts = accounts.annotate(**_key_counts(counts_at))
    accounts = accounts.prefetch_related(Prefetch("sites", queryset=sites))
    return accounts if lazy else list(accounts)


def msp_has_accounts(msp: Organisation) -> bool:
    """Whether the MSP has any account. `msp` must itself come through get_msp_for_user."""
    return Account.objects.filter(msp=msp).exists()


def _key_counts(now: datetime) -> dict[str, Count]:
    # Critical exactly as ProductKey.state_at(now) says, before the sweeper writes it down.
    return {
        "key_count": Count("product_keys"),
        "critical_count": critical_count(now, prefix="product_keys__"),
    }
