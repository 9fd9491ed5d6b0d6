"""Price lists (SPEC §8): the lists an organisation issues, one per organisation directly
below it, and the one it pays; a list's prices in a month with the history of every item;
a new list, and a new price from a month on.

Anyone who sees a list (keyledger.access) reads it; only its issuer's admins change it.
Every page works without JavaScript; with htmx the item choice follows the product.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from keyledger.access import (
    get_organisation_for_user,
    get_price_list_for_user,
    organisations_for_user,
    price_lists_for_user,
    products,
    require,
    require_issuer,
)
from keyledger.audit.actor import Actor
from keyledger.billing import money
from keyledger.billing.models import PriceList
from keyledger.billing.months import Month
from keyledger.billing.price_lists import (
    add_price,
    create_price_list,
    customers_of,
    final_through,
    item_name,
    lists_below,
    own_price_list,
    price_list_prices,
)
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.errors import add_action_errors
from keyledger.portal.forms.price_lists import AddPriceForm, MonthForm, NewPriceListForm
from keyledger.portal.views.methods import only_methods

PAGE_SIZE = 50


@login_required
def price_lists(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.VIEW_REPORTS)
    if refused := only_methods(request, "GET", "HEAD"):
        return refused
    user = request.user
    org = user.organisation
    visible = price_lists_for_user(user)
    customers = None
    if org.kind != Organisation.Kind.MSP:
        rows = customers_of(organisations_for_user(user), org)
        customers = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "organisation": org,
        "own": own_price_list(visible, org) if org.kind != Organisation.Kind.VENDOR else None,
        "customers": customers,
        "below": Paginator(lists_below(visible, org), PAGE_SIZE).get_page(request.GET.get("below")),
        "can_manage": user.can(Permission.MANAGE_PRICES),
    }
    return render(request, "portal/price_lists/index.html", context)


@login_required
def new_price_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.MANAGE_PRICES)
    user = request.user
    issuer = user.organisation
    candidates = list(customers_of(organisations_for_user(user), issuer).filter(price_list_id__isnull=True))
    if request.method != "POST":
        chosen = request.GET.get("customer", "")
        initial = {"customer": int(chosen)} if chosen.isdecimal() and chosen.isascii() else {}
        form = NewPriceListForm(initial=initial, customers=candidates)
        return _new_page(request, form, candidates)
    form = NewPriceListForm(request.POST, customers=candidates)
    if form.is_valid():
        customer = get_organisation_for_user(user, form.cleaned_data["customer"])
        try:
            price_list = create_price_list(
                issuer=issuer,
                customer=customer,
                currency=form.cleaned_data["currency"],
                actor=Actor.from_request(request),
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request,
                f"Price list for {customer.name} created in {price_list.currency}. Add its prices below.",
            )
            return redirect("portal:price_list", price_list_id=price_list.pk)
    return _new_page(request, form, candidates)


def _new_page(request: HttpRequest, form: NewPriceListForm, candidates: list[Organisation]) -> HttpResponse:
    currencies = sorted((code, money.currency_name(code)) for code in money.currencies())
    context = {"form": form, "candidates": candidates, "currencies": currencies}
    return render(request, "portal/price_lists/new.html", context)


@login_required
def price_list(request: HttpRequest, price_list_id: int) -> HttpResponse:
    require(request.user, Permission.VIEW_REPORTS)
    found = get_price_list_for_user(request.user, price_list_id)
    if refused := only_methods(request, "GET", "HEAD"):
        return refused
    if "month" not in request.GET:
        return _detail(request, found)
    month_form = MonthForm(request.GET)
    month = month_form.cleaned_data["month"] if month_form.is_valid() else None
    return _detail(request, found, month_form=month_form, month=month)


@login_required
def price_list_add_price(request: HttpRequest, price_list_id: int) -> HttpResponse:
    """The Add price form of a list (GET ?product= redraws its item choice), and adding it."""
    found = get_price_list_for_user(request.user, price_list_id)
    require_issuer(request.user, issuer_id=found.issuer_id, permission=Permission.MANAGE_PRICES)
    if refused := only_methods(request, "GET", "HEAD", "POST"):
        return refused
    catalog = list(products())
    if request.method != "POST":
        narrow_to = next((p for p in catalog if p.code == request.GET.get("product")), None)
        initial = {"product": narrow_to.code} if narrow_to else {}
        form = _add_form(found, catalog, initial=initial, narrow_to=narrow_to)
        return _detail(request, found, add_form=form)
    form = _add_form(found, catalog, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            price = add_price(
                price_list=found,
                product=data["product"],
                item=data["item"],
                month=data["month"],
                price=data["price"],
                actor=Actor.from_request(request),
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            shown = money.format_display(price.unit_minor, found.currency)
            month = Month.of(price.valid_from)
            messages.success(request, f"{item_name(price.product, price.item)}: {shown} from {month.label}.")
            return redirect(reverse("portal:price_list", kwargs={"price_list_id": found.pk}))
    return _detail(request, found, add_form=form)


def _add_form(price_list: PriceList, catalog: list, **kwargs) -> AddPriceForm:
    if "data" not in kwargs:
        kwargs.setdefault("initial", {})["month"] = str(_first_open_month(price_list))
    items_url = reverse("portal:price_list_add_price", kwargs={"price_list_id": price_list.pk})
    return AddPriceForm(
        kwargs.pop("data", None),
        currency=price_list.currency,
        products=catalog,
        items_url=items_url,
        **kwargs,
    )


def _this_month() -> Month:
    return Month.of(timezone.now())


def _first_open_month(price_list: PriceList) -> Month:
    final = final_through(price_list)
    return max(_this_month(), final.next) if final is not None else _this_month()


def _detail(
    request: HttpRequest,
    price_list: PriceList,
    *,
    month_form: MonthForm | None = None,
    month: Month | None = None,
    add_form: AddPriceForm | None = None,
) -> HttpResponse:
    user = request.user
    month = month or _this_month()
    can_manage = user.organisation_id == price_list.issuer_id and user.can(Permission.MANAGE_PRICES)
    if can_manage and add_form is None:
        add_form = _add_form(price_list, list(products()))
    context = {
        "price_list": price_list,
        "prices": price_list_prices(price_list, month),
        "month": month,
        "month_form": month_form or MonthForm(initial={"month": str(month)}),
        # The organisation above the viewer is not named: its own list is "Your prices".
        "is_own": user.organisation_id == price_list.customer_id,
        "can_manage": can_manage,
        "add_form": add_form if can_manage else None,
        "final_through": final_through(price_list) if can_manage else None,
        "currency_name": money.currency_name(price_list.currency),
    }
    return render(request, "portal/price_lists/detail.html", context)
