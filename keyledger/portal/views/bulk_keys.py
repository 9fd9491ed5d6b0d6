"""Bulk work on a key list: Deactivate, Reactivate or move the keys ticked (or every key the
filter shows) in one action with one confirmation step, then a summary.

Two posts to the same URL: the first shows what will happen to how many keys (and, for a
move, asks where to); the second, with confirm=1, does it through keyledger.keys.bulk, one
key at a time. The keys are looked up again on each post, within the user's scope at this
account or site: ticked ids that are not there are counted as not found, and "all
matching" is the filter evaluated on the server, never a list the form sent.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from keyledger.access import account_tree_for_user, get_account_for_user, get_site_for_user, products, require
from keyledger.audit.actor import Actor
from keyledger.customers.models import Account, Site
from keyledger.keys import bulk, listing
from keyledger.keys.models import ProductKey
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.keys import MoveKeyForm, placement_value
from keyledger.portal.views.key_list import ListQuery, panel_urls, render_panel, scoped_keys
from keyledger.portal.views.keys import _is_htmx, _pick_product
from keyledger.portal.views.methods import only_methods

ALL_MATCHING = "all"
MAX_ID = 2**63
SHOWN_IN_CONFIRMATION = 20

VERBS = {
    bulk.Operation.DEACTIVATE: "Deactivate",
    bulk.Operation.REACTIVATE: "Reactivate",
    bulk.Operation.MOVE: "Move",
}


def _ids(values: list[str]) -> list[int]:
    """The ticked key ids; anything that is not one is dropped."""
    ids = []
    for value in values:
        # Only what a database id can be: a larger number is an error on PostgreSQL.
        if value.isascii() and value.isdigit() and 0 < int(value) < MAX_ID:
            ids.append(int(value))
    return list(dict.fromkeys(ids))


def _selected(
    request: HttpRequest, keys: QuerySet[ProductKey], query: ListQuery
) -> tuple[QuerySet[ProductKey], int]:
    """The keys to work on, and how many ticked ids are not among the user's keys here."""
    if request.POST.get("scope") == ALL_MATCHING:
        return listing.listed(keys, status=query.status, sort=query.sort, now=timezone.now()), 0
    ids = _ids(request.POST.getlist("key"))
    chosen = keys.filter(pk__in=ids).order_by("key")
    return chosen, len(ids) - chosen.count() if ids else 0


def _bulk(request: HttpRequest, *, account: Account, site: Site | None) -> HttpResponse:
    user = request.user
    require(user, Permission.CHANGE_KEYS)
    if not_allowed := only_methods(request, "POST"):
        return not_allowed
    data = request.POST
    catalog = list(products())
    product = _pick_product(catalog, data.get("product"))
    try:
        operation = bulk.Operation(data.get("operation", ""))
    except ValueError:
        operation = None
    if product is None or operation is None:
        return _back(request, account=account, site=site, notice="Choose Deactivate, Reactivate or Move.")
    query = ListQuery.parse(data, product=product, site=site)
    keys, not_found = _selected(
        request, scoped_keys(request, account=account, site=site).filter(product=product), query
    )
    keys = list(keys.select_related("product", "msp", "account", "site"))
    if not keys and not not_found:
        return _back(request, account=account, site=site, notice="Select the keys first.")
    move_form = None
    if operation is bulk.Operation.MOVE:
        move_form = MoveKeyForm(
            data if data.get("confirm") else None,
            tree=account_tree_for_user(user, account.msp),
            initial={"placement": placement_value(account, site)},
        )
    if data.get("confirm") == "1" and (move_form is None or move_form.is_valid()):
        destination = move_form.account_and_site() if move_form is not None else (None, None)
        result = bulk.change_keys(
            keys=keys,
            operation=operation,
            actor=Actor.from_request(request),
            account=destination[0],
            site=destination[1],
            not_found=not_found,
        )
        level = "warning" if result.refused or result.not_found else "success"
        return _back(request, account=account, site=site, notice=result.summary(), level=level)
    context = {
        **panel_urls(account, site),
        "msp": account.msp,
        "account": account,
        "site": site,
        "product": product,
        "query": query,
        "operation": operation.value,
        "verb": VERBS[operation],
        "keys": keys[:SHOWN_IN_CONFIRMATION],
        "more": max(len(keys) - SHOWN_IN_CONFIRMATION, 0),
        "count": len(keys),
        "not_found": not_found,
        "scope": data.get("scope", ""),
        "ids": [k.pk for k in keys] if data.get("scope") != ALL_MATCHING else [],
        "move_form": move_form,
        "back": query.query(page=query.page or None),
    }
    if _is_htmx(request):
        # htmx swaps 2xx answers only: a destination to choose again is still the dialog to show.
        return render(request, "portal/keys/_bulk_confirm.html", context)
    refused = move_form is not None and move_form.is_bound
    return render(request, "portal/keys/bulk_confirm_page.html", context, status=422 if refused else 200)


def _back(
    request: HttpRequest, *, account: Account, site: Site | None, notice: str, level: str = "info"
) -> HttpResponse:
    """The key list again, as it was, with the outcome above it."""
    if _is_htmx(request):
        return render_panel(
            request, account=account, site=site, data=request.POST, notice=notice, notice_level=level
        )
    messages.add_message(request, getattr(messages, level.upper()), notice)
    catalog = list(products())
    product = _pick_product(catalog, request.POST.get("product"))
    url = panel_urls(account, site)["detail_url"]
    if product is not None:
        url += ListQuery.parse(request.POST, product=product, site=site).query()
    return redirect(url)


@login_required
def account_keys_bulk(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_account_for_user(request.user, account_id)
    return _bulk(request, account=account, site=None)


@login_required
def site_keys_bulk(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_site_for_user(request.user, site_id)
    return _bulk(request, account=site.account, site=site)
