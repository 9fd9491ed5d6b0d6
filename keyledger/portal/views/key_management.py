"""Key Management: the MSP picker, and an MSP's accounts and sites (SPEC §4).

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
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from keyledger.access import (
    account_tree_for_user,
    accounts_for_user,
    get_account_for_user,
    get_msp_for_user,
    get_site_for_user,
    msps_for_user,
    require,
)
from keyledger.audit.actor import Actor
from keyledger.customers import actions
from keyledger.customers.models import Account, Site
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.key_management import AccountForm, MspSearchForm, SiteForm
from keyledger.portal.views.methods import only_methods

MSPS_PER_PAGE = 25


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
    tree = account_tree_for_user(user, msp)
    if account is None and account_id:
        account = next((a for a in tree if str(a.pk) == account_id), None)
    context = {
        "msp": msp,
        "tree": tree,
        "account": account,
        "site": site,
        # The selected account's sites are already in the tree: no second query for them.
        "account_sites": next((a.sites.all() for a in tree if account and a.pk == account.pk), []),
        "can_change": user.can(Permission.CHANGE_KEYS),
        "may_pick_msp": user.organisation.kind != Organisation.Kind.MSP,
        **extra,
    }
    return render(request, template, context)


def _apply[T](form: forms.Form, call: Callable[[], T]) -> T | None:
    """Run an action with a valid form's data; a rule it refuses becomes errors next to the fields."""
    try:
        return call()
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


@login_required
def key_management(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    if user.organisation.kind == Organisation.Kind.MSP:
        return redirect("portal:msp_key_management", msp_id=user.organisation.pk)
    search = MspSearchForm(request.GET)
    msps = (
        msps_for_user(user)
        .select_related("parent")
        .annotate(account_count=Count("accounts"))
        .order_by(Lower("name"), "pk")
    )
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    if query:
        msps = msps.filter(name__icontains=query)
    page = Paginator(msps, MSPS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/key_management/picker.html", {"query": query, "page_obj": page})


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
    return _page(request, "portal/key_management/account_new.html", msp, form=form)


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
    elif request.user.can(Permission.CHANGE_KEYS):
        form = AccountForm(initial={"name": account.name, "address": account.address, "notes": account.notes})
    return _page(request, "portal/key_management/account.html", account.msp, account=account, form=form)


@login_required
def site_create(request: HttpRequest, msp_id: int) -> HttpResponse:
    msp = get_msp_for_user(request.user, msp_id)
    require(request.user, Permission.CHANGE_KEYS)
    if not_allowed := only_methods(request, "GET", "POST"):
        return not_allowed
    accounts = accounts_for_user(request.user).filter(msp=msp).by_name()
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
    accounts = accounts_for_user(request.user).filter(msp=msp).by_name()
    form = None
    if request.method == "POST":
        require(request.user, Permission.CHANGE_KEYS)
        form = SiteForm(request.POST, accounts=accounts)
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
    elif request.user.can(Permission.CHANGE_KEYS):
        form = SiteForm(
            initial={
                "name": site.name,
                "account": site.account_id,
                "address": site.address,
                "notes": site.notes,
            },
            accounts=accounts,
        )
    return _page(request, "portal/key_management/site.html", msp, site=site, form=form)
