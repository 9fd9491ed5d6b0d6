"""The Reports tab (SPEC §9): the Reports panel with the Activation Report, the Billing
Detail Report and Turning billable soon, each viewed on screen (sorted by any column
heading, paged) or downloaded whole with Download as CSV file.

Views parse the URL, resolve whose keys and which prices through the door
(keyledger.reports.scope), and hand the report's SQL to the page or to the streamed CSV
writer. A URL that names an organisation outside the viewer's subtree is a 404; anything
else that is wrong is a field error on the form, and no report.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from keyledger.access import require
from keyledger.billing.engine import running_month, threshold
from keyledger.billing.months import local_date
from keyledger.keys.models import Product
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.reports import ActivationForm, BillingForm, ReportForm, SoonForm, scope_data
from keyledger.portal.views.methods import only_methods
from keyledger.reports import csv
from keyledger.reports.activation import ActivationReport, Days
from keyledger.reports.billing_detail import BillingDetailReport
from keyledger.reports.scope import ReportScope, distributor_choices, msp_choices, resolve
from keyledger.reports.soon import TurningBillableSoon
from keyledger.reports.sorting import parse_sort
from keyledger.reports.table import LazyRows, Table

ROWS_PER_PAGE = 50

TABS = (
    ("portal:reports_activation", "Activation Report"),
    ("portal:reports_billing", "Billing Detail Report"),
    ("portal:reports_soon", "Turning billable soon"),
)


def _scope(request: HttpRequest) -> tuple[ReportScope, str]:
    """The scope the URL asks for (Http404 outside the subtree), and a price basis error."""
    get = request.GET
    try:
        return resolve(
            request.user, distributor=get.get("distributor"), msp=get.get("msp"), prices=get.get("prices")
        ), ""
    except ValidationError as exc:
        error = " ".join(exc.message_dict.get("prices", exc.messages))
        return resolve(request.user, distributor=get.get("distributor"), msp=get.get("msp")), error


def _tabs(request: HttpRequest, scope: ReportScope, current: str | None) -> list[dict[str, Any]]:
    query = scope.query()
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return [
        {"url": reverse(name) + suffix, "label": label, "current": name == current} for name, label in TABS
    ]


def _form(
    request: HttpRequest,
    form_class: type[ReportForm],
    scope: ReportScope,
    error: str,
    *,
    viewed: bool,
    **kwargs: Any,
):
    data = scope_data(request.GET, scope) if viewed or error else None
    form = form_class(
        data,
        scope=scope,
        distributors=distributor_choices(request.user),
        msps=msp_choices(request.user, scope),
        picker_url=request.path,
        **kwargs,
    )
    if error and form.is_bound:
        form.is_valid()
        form.add_error("prices" if "prices" in form.fields else None, error)
    return form


def _headings(table: Table) -> list[dict[str, Any]]:
    sort = table.sort
    return [
        {
            "column": c,
            "sort": sort.toggled_for(c),
            "aria": sort.aria(c),
            "numeric": c.kind in ("number", "money"),
        }
        for c in table.on_screen
    ]


def _page(request: HttpRequest, table: Table):
    """The page asked for, fetched with the report's row count in one query."""
    offset = (_page_number(request) - 1) * ROWS_PER_PAGE
    rows, count = table.page_and_count(offset, ROWS_PER_PAGE)
    lazy = LazyRows(table, count=count, preloaded=(offset, rows))
    return _linked(request, Paginator(lazy, ROWS_PER_PAGE).get_page(request.GET.get("page")))


def _linked(request: HttpRequest, page):
    """Each row's link to its key's Activation Details, for those who may open them."""
    if request.user.can(Permission.VIEW_KEYS):
        for row in page:
            href = reverse("portal:key_detail", kwargs={"key_id": row["key_id"]})
            for cell in row["cells"]:
                if cell.column.key == "product_key":
                    cell.href = href
    return page


def _page_number(request: HttpRequest) -> int:
    """The page asked for, as Paginator.get_page reads it (anything odd: the first)."""
    try:
        number = int(request.GET.get("page") or 1)
    except ValueError:
        return 1
    return number if number >= 1 else 1


def _start(request: HttpRequest) -> HttpResponse | None:
    require(request.user, Permission.VIEW_REPORTS)
    return only_methods(request, "GET")


def _catalog() -> list[Product]:
    return list(Product.objects.order_by("sort_order", "name", "pk"))


def _viewed(request: HttpRequest, field: str) -> bool:
    """View Report was clicked (the report's own field is in the URL), not just the picker
    refreshed (the MSP list following a new distributor)."""
    return field in request.GET and request.GET.get("picker") != "1"


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(request, f"portal/reports/{template}", context, status=status)


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    if refused := _start(request):
        return refused
    scope, _ = _scope(request)
    return _render(request, "index.html", {"tabs": _tabs(request, scope, None), "scope": scope})


# --- Activation Report -------------------------------------------------------------------


def _activation(request: HttpRequest, *, as_csv: bool) -> HttpResponse:
    if refused := _start(request):
        return refused
    scope, error = _scope(request)
    catalog = _catalog()
    now = timezone.now()
    today = local_date(now)
    viewed = _viewed(request, "start") or as_csv
    form = _form(
        request,
        ActivationForm,
        scope,
        error,
        viewed=viewed,
        catalog=catalog,
        on_screen=not as_csv,
        initial={"start": today.replace(day=1), "end": today},
    )
    context: dict[str, Any] = {
        "tabs": _tabs(request, scope, "portal:reports_activation"),
        "scope": scope,
        "form": form,
    }
    if viewed and form.is_valid():
        data = form.cleaned_data
        report = ActivationReport(
            scope=scope,
            days=Days(data["start"], data["end"]),
            products=catalog,
            product_ids=form.product_ids(),
            sort=parse_sort(data["sort"], ActivationForm.columns, ActivationForm.default_sort),
            now=now,
        )
        if as_csv:
            name = f"activation-report-{data['start']}-to-{data['end']}.csv"
            return csv.response(name, report.header, report.csv_rows())
        context.update(report=report, page=_page(request, report), headings=_headings(report))
        context["csv_url"] = reverse("portal:reports_activation_csv")
    return _render(request, "activation.html", context, status=400 if as_csv else 200)


@login_required
def activation(request: HttpRequest) -> HttpResponse:
    return _activation(request, as_csv=False)


@login_required
def activation_csv(request: HttpRequest) -> HttpResponse:
    return _activation(request, as_csv=True)


# --- Billing Detail Report ---------------------------------------------------------------


def _billing(request: HttpRequest, *, as_csv: bool) -> HttpResponse:
    if refused := _start(request):
        return refused
    scope, error = _scope(request)
    now = timezone.now()
    running = running_month(now)
    viewed = _viewed(request, "month") or as_csv
    form = _form(
        request,
        BillingForm,
        scope,
        error,
        viewed=viewed,
        running=running,
        initial={"month": str(running.previous)},
    )
    context: dict[str, Any] = {
        "tabs": _tabs(request, scope, "portal:reports_billing"),
        "scope": scope,
        "form": form,
    }
    if viewed and form.is_valid():
        data = form.cleaned_data
        report = BillingDetailReport(
            scope=scope,
            month=data["month"],
            products=_catalog(),
            sort=parse_sort(data["sort"], BillingForm.columns, BillingForm.default_sort),
            now=now,
        )
        if as_csv:
            return csv.response(
                f"billing-detail-report-{data['month']}.csv", report.header, report.csv_rows()
            )
        # The page asked for and the totals come together (the month's keys counted once);
        # a page number past the end falls back to fetching the last page.
        number = _page_number(request)
        offset = (number - 1) * ROWS_PER_PAGE
        rows, totals = report.page_and_totals(offset, ROWS_PER_PAGE)
        lazy = LazyRows(report, count=totals.keys, preloaded=(offset, rows))
        page = _linked(request, Paginator(lazy, ROWS_PER_PAGE).get_page(request.GET.get("page")))
        context.update(
            report=report,
            page=page,
            totals=totals,
            status=report.status(totals),
            groups=_groups(page, totals),
            grand_totals=totals.shown_by_currency(),
            foot_span=len(report.on_screen) - 5,
            headings=_headings(report),
            csv_url=reverse("portal:reports_billing_csv"),
        )
    return _render(request, "billing.html", context, status=400 if as_csv else 200)


def _groups(page, totals) -> list[dict[str, Any]]:
    """The page's rows as one table per product, each with its product's subtotals."""
    groups: list[dict[str, Any]] = []
    for row in page:
        if not groups or groups[-1]["product_id"] != row["product_id"]:
            groups.append(
                {
                    "product_id": row["product_id"],
                    "product": row["product"],
                    "rows": [],
                    "subtotals": totals.for_product(row["product_id"]),
                }
            )
        groups[-1]["rows"].append(row)
    return groups


@login_required
def billing(request: HttpRequest) -> HttpResponse:
    return _billing(request, as_csv=False)


@login_required
def billing_csv(request: HttpRequest) -> HttpResponse:
    return _billing(request, as_csv=True)


# --- Turning billable soon ---------------------------------------------------------------


def _soon(request: HttpRequest, *, as_csv: bool) -> HttpResponse:
    if refused := _start(request):
        return refused
    scope, error = _scope(request)
    now = timezone.now()
    # Nothing to choose but whose keys: the report shows at once, whenever the form is valid.
    form = _form(request, SoonForm, scope, error, viewed=request.GET.get("picker") != "1")
    month = running_month(now)
    context: dict[str, Any] = {
        "tabs": _tabs(request, scope, "portal:reports_soon"),
        "scope": scope,
        "form": form,
        "month": month,
        "today": local_date(now),
        "threshold": threshold(),
    }
    if form.is_bound and form.is_valid():
        report = TurningBillableSoon(
            scope=scope,
            products=_catalog(),
            sort=parse_sort(form.cleaned_data["sort"], SoonForm.columns, SoonForm.default_sort),
            now=now,
        )
        if as_csv:
            return csv.response(
                f"turning-billable-soon-{local_date(now)}.csv", report.header, report.csv_rows()
            )
        context.update(
            report=report,
            page=_page(request, report),
            headings=_headings(report),
            csv_url=reverse("portal:reports_soon_csv"),
        )
    return _render(request, "soon.html", context, status=400 if as_csv else 200)


@login_required
def soon(request: HttpRequest) -> HttpResponse:
    return _soon(request, as_csv=False)


@login_required
def soon_csv(request: HttpRequest) -> HttpResponse:
    return _soon(request, as_csv=True)
