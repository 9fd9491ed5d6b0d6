"""Accounts and sites (SPEC §4)."""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from keyledger.access import (
    accounts_for_user,
    get_account_for_user,
    get_msp_for_user,
    get_site_for_user,
    require,
    sites_for_user,
)
from keyledger.api.auth import actor, principal, token_auth
from keyledger.api.errors import ERRORS, READ_ERRORS, api_field_names, referenced
from keyledger.api.pagination import Pagination
from keyledger.api.schemas.common import PathId
from keyledger.api.schemas.customers import (
    AccountFilter,
    AccountIn,
    AccountOut,
    AccountPatch,
    SiteFilter,
    SiteIn,
    SiteOut,
    SitePatch,
)
from keyledger.customers import actions
from keyledger.customers.models import Account, Site
from keyledger.organisations.roles import Permission

router = Router(tags=["Accounts and sites"], auth=token_auth)


def _changes(payload: AccountPatch | SitePatch) -> dict:
    return {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}


@router.get("/accounts", response={200: list[AccountOut], **READ_ERRORS}, summary="List accounts")
@paginate(Pagination)
def list_accounts(request: HttpRequest, filters: Query[AccountFilter]) -> QuerySet[Account]:
    require(principal(request), Permission.VIEW_KEYS)
    qs = accounts_for_user(principal(request)).select_related("msp").order_by("msp__name", "name", "pk")
    if filters.msp_id is not None:
        qs = qs.filter(msp=referenced("msp_id", get_msp_for_user, principal(request), filters.msp_id))
    if filters.name:
        qs = qs.filter(name__icontains=filters.name)
    return qs


@router.get("/accounts/{account_id}", response={200: AccountOut, **READ_ERRORS}, summary="Get an account")
def get_account(request: HttpRequest, account_id: PathId) -> Account:
    require(principal(request), Permission.VIEW_KEYS)
    return get_account_for_user(principal(request), account_id)


@router.post("/accounts", response={201: AccountOut, **ERRORS}, summary="Add Account")
def create_account(request: HttpRequest, payload: AccountIn):
    require(principal(request), Permission.CHANGE_KEYS)
    msp = referenced("msp_id", get_msp_for_user, principal(request), payload.msp_id)
    account = actions.create_account(
        msp=msp, name=payload.name, address=payload.address, notes=payload.notes, actor=actor(request)
    )
    return Status(201, account)


@router.patch("/accounts/{account_id}", response={200: AccountOut, **ERRORS}, summary="Change an account")
def update_account(request: HttpRequest, account_id: PathId, payload: AccountPatch) -> Account:
    require(principal(request), Permission.CHANGE_KEYS)
    account = get_account_for_user(principal(request), account_id)
    fields = {"name": account.name, "address": account.address, "notes": account.notes} | _changes(payload)
    return actions.update_account(account=account, **fields, actor=actor(request))


@router.get("/sites", response={200: list[SiteOut], **READ_ERRORS}, summary="List sites")
@paginate(Pagination)
def list_sites(request: HttpRequest, filters: Query[SiteFilter]) -> QuerySet[Site]:
    require(principal(request), Permission.VIEW_KEYS)
    qs = sites_for_user(principal(request)).select_related("account").order_by("account__name", "name", "pk")
    if filters.msp_id is not None:
        msp = referenced("msp_id", get_msp_for_user, principal(request), filters.msp_id)
        qs = qs.filter(account__msp=msp)
    if filters.account_id is not None:
        account = referenced("account_id", get_account_for_user, principal(request), filters.account_id)
        qs = qs.filter(account=account)
    return qs


@router.get("/sites/{site_id}", response={200: SiteOut, **READ_ERRORS}, summary="Get a site")
def get_site(request: HttpRequest, site_id: PathId) -> Site:
    require(principal(request), Permission.VIEW_KEYS)
    return get_site_for_user(principal(request), site_id)


@router.post("/sites", response={201: SiteOut, **ERRORS}, summary="Add Site")
def create_site(request: HttpRequest, payload: SiteIn):
    require(principal(request), Permission.CHANGE_KEYS)
    account = referenced("account_id", get_account_for_user, principal(request), payload.account_id)
    site = actions.create_site(
        account=account, name=payload.name, address=payload.address, notes=payload.notes, actor=actor(request)
    )
    return Status(201, site)


@router.patch("/sites/{site_id}", response={200: SiteOut, **ERRORS}, summary="Change or move a site")
def update_site(request: HttpRequest, site_id: PathId, payload: SitePatch) -> Site:
    """Another account_id (of the same MSP) moves the site, and its keys, to that account."""
    require(principal(request), Permission.CHANGE_KEYS)
    site = get_site_for_user(principal(request), site_id)
    changes = _changes(payload)
    account = site.account
    if "account_id" in changes:
        account = referenced(
            "account_id", get_account_for_user, principal(request), changes.pop("account_id")
        )
    fields = {"name": site.name, "address": site.address, "notes": site.notes} | changes
    with api_field_names({"account": "account_id"}):
        return actions.update_site(site=site, account=account, **fields, actor=actor(request))
