"""Product keys on Key Management (SPEC §5 and §6): Add Key(s), a key's Activation Details,
and Deactivate, Reactivate, withdrawing a request and moving a key. The product tabs and
their key list are in views/key_list.py, bulk work on many keys in views/bulk_keys.py.

Every page is a full page, so links and reloads work without JavaScript. With htmx Add
Key(s) opens in a dialog and a key's Activation Details open under the key list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from keyledger.access import (
    account_tree_for_user,
    get_key_for_user,
    get_msp_for_user,
    products,
    require,
)
from keyledger.audit.actor import Actor
from keyledger.customers.models import Account, Site
from keyledger.keys import actions, states
from keyledger.keys.models import Product, ProductKey
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.errors import add_action_errors
from keyledger.portal.forms.keys import AddKeysForm, MoveKeyForm, placement_value
from keyledger.portal.views.activation_details import billing_context, event_rows, key_actions
from keyledger.portal.views.key_status import BADGES, STATUS_BADGES  # noqa: F401 (BADGES: the Overview's)
from keyledger.portal.views.methods import only_methods

State = ProductKey.State


def _is_htmx(request: HttpRequest) -> bool:
    # A history restore asks for the whole page, though it comes from htmx.
    return request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers


def _pick_product(catalog: list[Product], code: str | None) -> Product | None:
    return next((p for p in catalog if p.code == code), catalog[0] if catalog else None)


def _detail_url(account: Account, site: Site | None, product: Product | None = None) -> str:
    """The Key Management page of the account or site, on the product's tab."""
    url = (
        reverse("portal:site_detail", kwargs={"site_id": site.pk})
        if site is not None
        else reverse("portal:account_detail", kwargs={"account_id": account.pk})
    )
    return f"{url}?{urlencode({'product': product.code})}" if product is not None else url


# --- Add Key(s) -------------------------------------------------------------------------


def _add_form(
    request: HttpRequest,
    msp: Organisation,
    *,
    product: Product,
    catalog: list[Product],
    placement: str,
    data: Any = None,
    in_dialog: bool = True,
) -> tuple[AddKeysForm, str]:
    url = reverse("portal:add_keys", kwargs={"msp_id": msp.pk})
    if in_dialog:
        url += "?dialog=1"
    tree = account_tree_for_user(request.user, msp)
    initial = {"placement": placement}
    if data is None and request.GET.get("quantity"):
        initial["quantity"] = request.GET["quantity"]
    form = AddKeysForm(data, product=product, catalog=catalog, tree=tree, reload_url=url, initial=initial)
    return form, url


@login_required
def add_keys(request: HttpRequest, msp_id: int) -> HttpResponse:
    """Add Key(s): the form (in the dialog, or as a page), and sourcing the keys."""
    msp = get_msp_for_user(request.user, msp_id)
    require(request.user, Permission.CHANGE_KEYS)
    if not_allowed := only_methods(request, "GET", "POST"):
        return not_allowed
    source = request.POST if request.method == "POST" else request.GET
    catalog = list(products())
    product = _pick_product(catalog, source.get("product"))
    if product is None:
        messages.error(request, "The catalog offers no products.")
        return redirect("portal:msp_key_management", msp_id=msp.pk)
    in_dialog = request.GET.get("dialog") == "1"
    form, url = _add_form(
        request,
        msp,
        product=product,
        catalog=catalog,
        placement=source.get("placement", ""),
        data=request.POST if request.method == "POST" else None,
        in_dialog=in_dialog,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            account, site = form.account_and_site()
            try:
                keys = actions.source_keys(
                    product=form.cleaned_data["product"],
                    quantity=form.cleaned_data["quantity"],
                    account=account,
                    site=site,
                    fields=form.key_fields(),
                    actor=Actor.from_request(request),
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except ValidationError as exc:
                add_action_errors(form, exc, form.error_field_map())
            else:
                messages.success(request, f"{len(keys)} key{'' if len(keys) == 1 else 's'} added.")
                target = _detail_url(account, site, form.cleaned_data["product"])
                if _is_htmx(request):
                    return HttpResponse(headers={"HX-Redirect": target})
                return redirect(target)
        status = 422
    context = {"msp": msp, "form": form, "add_url": url, "in_dialog": in_dialog}
    if _is_htmx(request):
        # htmx swaps 2xx answers only by default: a form with errors is still a form to show.
        return render(request, "portal/keys/_add_keys_form.html", context)
    return render(request, "portal/keys/add_keys_page.html", context, status=status)


# --- Activation Details -----------------------------------------------------------------


def _details_context(request: HttpRequest, key: ProductKey, move_form: MoveKeyForm | None = None) -> dict:
    user = request.user
    product = key.product
    now = timezone.now()
    state = key.state_at(now)
    can_change = user.can(Permission.CHANGE_KEYS)
    if can_change and move_form is None:
        move_form = MoveKeyForm(
            tree=account_tree_for_user(user, key.msp),
            initial={"placement": placement_value(key.account, key.site)},
        )
    return {
        "key": key,
        "product": product,
        "badge": STATUS_BADGES[state],
        "edition": product.edition_label(key.edition) if key.edition else "",
        "jobs": [
            {
                "label": job["label"],
                "licensed": int(key.fields.get(job["code"], 0)),
                "in_use": int(key.jobs_in_use.get(job["code"], 0)),
            }
            for job in product.job_license_types
        ],
        "events": event_rows(key, user),
        "can_change": can_change,
        "move_form": move_form if can_change else None,
        "back_url": _detail_url(key.account, key.site, product),
        "inline_messages": _is_htmx(request),
        **key_actions(key),
        **billing_context(key, user, now),
    }


def _details(request: HttpRequest, key: ProductKey, *, move_form: MoveKeyForm | None = None) -> HttpResponse:
    context = _details_context(request, key, move_form)
    if _is_htmx(request):
        response = render(request, "portal/keys/_activation_details.html", context)
        if request.method == "POST":
            # The key list beside the details shows the new status and placement too.
            response["HX-Trigger"] = "keys-changed"
        return response
    return render(request, "portal/keys/key.html", context)


@login_required
def key_detail(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_key_for_user(request.user, key_id)
    require(request.user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    return _details(request, key)


def _change(
    request: HttpRequest, key_id: int, change: Callable[[ProductKey, Actor], ProductKey]
) -> HttpResponse:
    """Run one of the keys actions on a key; a refusal is flashed, never a server error."""
    key = get_key_for_user(request.user, key_id)
    require(request.user, Permission.CHANGE_KEYS)
    if not_allowed := only_methods(request, "POST"):
        return not_allowed
    old = key.state
    try:
        key = change(key, Actor.from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except states.Conflict:
        messages.error(request, "The key changed while you were looking at it. Here it is as it is now.")
    else:
        messages.success(request, _outcome(old, key.state))
    key = get_key_for_user(request.user, key_id)
    if _is_htmx(request):
        return _details(request, key)
    return redirect("portal:key_detail", key_id=key.pk)


def _outcome(old: str, new: str) -> str:
    if old == new:
        return f"Nothing to change: the key is {State(new).label}."
    if new == State.DEACTIVATION_REQUESTED:
        return "Deactivation requested: it is final when the product next calls home."
    if new == State.REACTIVATION_REQUESTED:
        return "Reactivation requested: it is final when the product next calls home."
    if old == State.DEACTIVATION_REQUESTED:
        return "Deactivation request withdrawn: the key stays active."
    if old == State.REACTIVATION_REQUESTED:
        return "Reactivation request withdrawn: the key stays deactivated."
    if new == State.DEACTIVATED:
        return "Deactivated at once: the product had not called home within its offline lease."
    return f"The key is now {State(new).label}."


@login_required
def deactivate_key(request: HttpRequest, key_id: int) -> HttpResponse:
    return _change(request, key_id, lambda key, actor: actions.request_deactivation(key=key, actor=actor))


@login_required
def reactivate_key(request: HttpRequest, key_id: int) -> HttpResponse:
    return _change(request, key_id, lambda key, actor: actions.request_reactivation(key=key, actor=actor))


@login_required
def withdraw_key_request(request: HttpRequest, key_id: int) -> HttpResponse:
    return _change(request, key_id, lambda key, actor: actions.withdraw_request(key=key, actor=actor))


@login_required
def move_key(request: HttpRequest, key_id: int) -> HttpResponse:
    """Change the Account/Site association of a key, among its MSP's accounts and sites."""
    key = get_key_for_user(request.user, key_id)
    require(request.user, Permission.CHANGE_KEYS)
    if not_allowed := only_methods(request, "POST"):
        return not_allowed
    form = MoveKeyForm(request.POST, tree=account_tree_for_user(request.user, key.msp))
    if form.is_valid():
        account, site = form.account_and_site()
        try:
            actions.move_key(key=key, account=account, site=site, actor=Actor.from_request(request))
        except ValidationError as exc:
            add_action_errors(form, exc, {"account": "placement", "site": "placement"})
        else:
            where = f"{account.name} / {site.name}" if site is not None else account.name
            messages.success(request, f"Key moved to {where}.")
            if not _is_htmx(request):
                return redirect("portal:key_detail", key_id=key.pk)
            return _details(request, get_key_for_user(request.user, key_id))
    return _details(request, key, move_form=form)
