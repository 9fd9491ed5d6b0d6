"""Key Management: an MSP's accounts and sites (SPEC §4). The MSP picker is msp_picker.py.

Every page is a full page, so links and reloads work without JavaScript; with htmx the
tree's links and the detail forms swap only the detail panel and the Accounts/Sites panel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from keyledger.access import (
    account_tree_for_user,
    accounts_for_user,
    get_account_for_user,
    get_msp_for_user,
    get_site_for_user,
    msp_has_accounts,
    require,
    sites_for_user,
)
from keyledger.audit.actor import Actor
from keyledger.customers import actions
from keyledger.customers.models import Account, Site
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.key_management import AccountForm, SiteForm, TreeFilterForm
from keyledger.portal.views.methods import only_methods

ACCOUNTS_PER_PAGE = 50


def _tree_page(request: HttpRequest, msp: Organisation, account: Account | None) -> tuple[Page, str]:
    """The page of the Accounts/Sites tree to show, and its name filter (`?accounts=`).
    Without `?accounts_page=`, the page that holds the selected account."""
    search = TreeFilterForm(request.GET)
    query = search.cleaned_data["accounts"].strip() if search.is_valid() else ""
    accounts = account_tree_for_user(
        request.user, msp, counts_at=timezone.now(), name_contains=query, lazy=True
    )
    number = request.GET.get("accounts_page")
    if number is None and account is not None:
        # Counted without the key counts' joins: only the accounts before it in the tree's order.
        before = accounts_for_user(request.user).filter(
            Q(sort_name__lt=account.sort_name) | Q(sort_name=account.sort_name, pk__lt=account.pk),
            msp=msp,
        )
        if query:
            before = before.filter(name__icontains=query)
        number = before.count() // ACCOUNTS_PER_PAGE + 1
    return Paginator(accounts, ACCOUNTS_PER_PAGE).get_page(number), query


def _page(
    request: HttpRequest,
    template: str,
    msp: Organisation,
    *,
    account: Account | None = None,
    site: Site | None = None,
    account_id: str | None = None,
    **extra: Any,
) -> HttpResponse:
    """Render one of an MSP's Key Management pages: the Accounts/Sites tree on the left,
    the selected account or site (or a form) on the right. `account_id` selects an
    account by id (as given in the URL) when only that is known.

    The context every page gets (the product panel relies on it): `msp`; `account`, the
    selected account or the selected site's account; `site`, the selected site or None;
    `can_change`, whether the user may change accounts, sites and keys."""
    user = request.user
    if site is not None:
        account = site.account
    if account is None and account_id:
        account = accounts_for_user(user).filter(msp=msp, pk=_int_or_none(account_id)).first()
    tree_page, tree_query = _tree_page(request, msp, account)
    tree = list(tree_page)
    shown = next((a for a in tree if account and a.pk == account.pk), None)
    context = {
        "msp": msp,
        "tree": tree,
        "tree_page": tree_page,
        "tree_query": tree_query,
        # Whether the MSP has any account at all (not only on this page, or past the filter).
        "has_accounts": bool(tree) or tree_page.paginator.count > 0 or msp_has_accounts(msp),
        "account": account,
        "site": site,
        # The selected account's sites are in the tree when it is on this page: no query for them.
        "account_sites": shown.sites.all() if shown else (account.sites.by_name() if account else []),
        "can_change": user.can(Permission.CHANGE_KEYS),
        "may_pick_msp": user.organisation.kind != Organisation.Kind.MSP,
        **extra,
    }
    return render(request, template, context)


def _int_or_none(value: str | None) -> int | None:
    # isascii: "²".isdigit() is true, yet int() refuses it.
    # At most 18 digits: a larger number is no id, and would overflow the database's integer.
    return int(value) if value and value.isascii() and value.isdigit() and len(value) <= 18 else None


def _apply[T](form: forms.Form, call: Callable[[], T]) -> T | None:
    """Run an action with a valid form's data; a rule it refuses becomes errors next to the fields."""
    try:
        return call()
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


@login_required
def msp_key_management(request: HttpRequest, msp_id: int) -> HttpResponse:
    msp = get_msp_for_user(request.user, msp_id)
    require(request.user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    return _page(request, "portal/key_management/msp.html", msp)


@login_required
def account_create(request: HttpRequest, msp_id: int) -> HttpResponse:
    msp = get_msp_for_user(request.user, msp_id)
    require(request.user, Permission.CHANGE_KEYS)
    if not_allowed := only_methods(request, "GET", "POST"):
        return not_allowed
    form = AccountForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        account = _apply(
            form,
            lambda: actions.create_account(msp=msp, **form.cleaned_data, actor=Actor.from_request(request)),
        )
        if account is not None:
            messages.success(request, f"Account “{account.name}” added.")
            return redirect("portal:account_detail", account_id=account.pk)
    # Opened from an account's page (?account=), Cancel goes back to it; else to the MSP's page.
    return _page(
        request,
        "portal/key_management/account_new.html",
        msp,
        account_id=request.GET.get("account"),
        form=form,
    )


def _editing(request: HttpRequest) -> bool:
    """The details show as a read-only summary, keys first; Edit (?edit=1) opens the form."""
    return request.GET.get("edit") == "1" and request.user.can(Permission.CHANGE_KEYS)


def _fragment(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse | None:
    """With htmx, Edit and Cancel swap only the summary or the form (`?fragment=1`): no
    tree and no key list to render again. Save posts to the full page, whose answer also
    redraws the tree (a new name, a moved site) and the messages."""
    if request.headers.get("HX-Request") == "true" and request.GET.get("fragment") == "1":
        return render(request, template, context)
    return None


@login_required
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_account_for_user(request.user, account_id)
    require(request.user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET", "POST"):
        return not_allowed
    form = None
    if request.method == "POST":
        require(request.user, Permission.CHANGE_KEYS)
        form = AccountForm(request.POST)
        if form.is_valid():
            saved = _apply(
                form,
                lambda: actions.update_account(
                    account=account, **form.cleaned_data, actor=Actor.from_request(request)
                ),
            )
            if saved is not None:
                messages.success(request, f"Account “{saved.name}” saved.")
                return redirect("portal:account_detail", account_id=account.pk)
    elif _editing(request):
        form = AccountForm(initial={"name": account.name, "address": account.address, "notes": account.notes})
    context = {
        "account": account,
        # The summary drawn alone has no tree to take the sites from (a lazy query: run
        # only if this summary is drawn).
        "account_sites": sites_for_user(request.user).filter(account=account).by_name(),
        "form": form,
        "can_change": request.user.can(Permission.CHANGE_KEYS),
    }
    if fragment := _fragment(request, "portal/key_management/_account_summary.html", context):
        return fragment
    return _page(request, "portal/key_management/account.html", account.msp, account=account, form=form)


@login_required
def site_create(request: HttpRequest, msp_id: int) -> HttpResponse:
    msp = get_msp_for_user(request.user, msp_id)
    require(request.user, Permission.CHANGE_KEYS)
    if not_allowed := only_methods(request, "GET", "POST"):
        return not_allowed
    accounts = _accounts(request, msp)
    if request.method == "POST":
        form = SiteForm(request.POST, accounts=accounts)
    else:
        # Add Site opens on the account selected in the tree (?account=), as the seed describes.
        form = SiteForm(initial={"account": request.GET.get("account")}, accounts=accounts)
    if form.is_valid():
        data = form.cleaned_data
        site = _apply(
            form,
            lambda: actions.create_site(
                account=data["account"],
                name=data["name"],
                address=data["address"],
                notes=data["notes"],
                actor=Actor.from_request(request),
            ),
        )
        if site is not None:
            messages.success(request, f"Site “{site.name}” added to account “{site.account.name}”.")
            return redirect("portal:site_detail", site_id=site.pk)
    return _page(
        request,
        "portal/key_management/site_new.html",
        msp,
        account_id=request.POST.get("account") or request.GET.get("account"),
        form=form,
    )


@login_required
def site_detail(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_site_for_user(request.user, site_id)
    require(request.user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET", "POST"):
        return not_allowed
    msp = site.account.msp
    form = None
    if request.method == "POST":
        require(request.user, Permission.CHANGE_KEYS)
        form = SiteForm(request.POST, accounts=_accounts(request, msp))
        if form.is_valid():
            data = form.cleaned_data
            old_account_id = site.account_id
            saved = _apply(
                form,
                lambda: actions.update_site(
                    site=site,
                    name=data["name"],
                    account=data["account"],
                    address=data["address"],
                    notes=data["notes"],
                    actor=Actor.from_request(request),
                ),
            )
            if saved is not None:
                if saved.account_id != old_account_id:
                    messages.success(request, f"Site “{saved.name}” moved to account “{saved.account.name}”.")
                else:
                    messages.success(request, f"Site “{saved.name}” saved.")
                return redirect("portal:site_detail", site_id=site.pk)
    elif _editing(request):
        initial = {
            "name": site.name,
            "account": site.account_id,
            "address": site.address,
            "notes": site.notes,
        }
        form = SiteForm(initial=initial, accounts=_accounts(request, msp))
    context = {
        "site": site,
        "account": site.account,
        "form": form,
        "can_change": request.user.can(Permission.CHANGE_KEYS),
    }
    if fragment := _fragment(request, "portal/key_management/_site_summary.html", context):
        return fragment
    return _page(request, "portal/key_management/site.html", msp, site=site, form=form)


def _accounts(request: HttpRequest, msp: Organisation):
    return accounts_for_user(request.user).filter(msp=msp).by_name()
