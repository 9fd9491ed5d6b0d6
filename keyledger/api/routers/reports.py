"""The Activation Report, the Billing Detail Report and the forecast (SPEC §8 and §9).

Each answers JSON, a page of rows with the whole report's count, sorted by any column; or,
with `Accept: text/csv` or `?format=csv`, the whole report as the portal's CSV file, the
same bytes. Whose keys: the token's subtree, or one MSP of it (`msp_id`); an MSP outside
it is a 404 naming the field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router

from keyledger.access import get_key_for_user, require
from keyledger.api.auth import principal, token_auth
from keyledger.api.errors import READ_ERRORS, referenced
from keyledger.api.schemas.reports import (
    ActivationQuery,
    ActivationReportOut,
    BillingQuery,
    BillingReportOut,
    ForecastOut,
    ForecastQuery,
)
from keyledger.billing import money
from keyledger.billing.engine import running_month
from keyledger.billing.months import local_date
from keyledger.keys.models import Product
from keyledger.organisations.roles import Permission
from keyledger.reports import activation, billing_detail, csv, inputs, soon
from keyledger.reports.forecast import key_forecast
from keyledger.reports.scope import ReportScope, resolve
from keyledger.reports.sorting import SortError, parse_sort

router = Router(tags=["Reports"], auth=token_auth)


def _csv_responses(schema: str) -> dict[str, Any]:
    return {
        "responses": {
            "200": {
                "description": "A page of the report; the whole report as CSV with `Accept: text/csv` or "
                "`?format=csv`",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    }


def _wants_csv(request: HttpRequest, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("Accept", "")


def _scope(request: HttpRequest, msp_id: int | None, prices: str | None = None) -> ReportScope:
    who = principal(request)
    require(who, Permission.VIEW_REPORTS)
    return referenced("msp_id", lambda: resolve(who, msp=msp_id, prices=prices))


def _sort(value: str | None, columns, default: str):
    try:
        return parse_sort(value, columns, default)
    except SortError as exc:
        raise ValidationError({"sort": str(exc)}) from None


def _catalog() -> list[Product]:
    return list(Product.objects.order_by("sort_order", "name", "pk"))


@router.get(
    "/reports/activation",
    response={200: ActivationReportOut, **READ_ERRORS},
    summary="Activation Report",
    openapi_extra=_csv_responses("ActivationReportOut"),
)
def activation_report(request: HttpRequest, query: Query[ActivationQuery]) -> Any:
    """One row per active period of a key that overlaps the days from `start` to `end`
    (inclusive, days of the billing time zone). CSV columns: Product Key, Product, Edition,
    Account, Site, Machine Name, Status, Activated, Deactivated, Last Call Home, Version."""
    scope = _scope(request, query.msp_id)
    now = timezone.now()
    today = local_date(now)
    start, end = query.start or today.replace(day=1), query.end or today
    inputs.check_days(start, end, at_most_a_year=False)
    catalog = _catalog()
    report = activation.ActivationReport(
        scope=scope,
        days=activation.Days(start, end),
        products=catalog,
        product_ids=inputs.product_ids(query.product, catalog),
        sort=_sort(query.sort, activation.COLUMNS, activation.DEFAULT_SORT),
        now=now,
    )
    if _wants_csv(request, query.format):
        return csv.response(f"activation-report-{start}-to-{end}.csv", report.header, report.csv_rows())
    rows, count = report.page_and_count(query.offset, query.limit)
    return {
        "start": start,
        "end": end,
        "sort": report.sort.param,
        "count": count,
        "limit": query.limit,
        "offset": query.offset,
        "items": [{"key_id": row["key_id"], **report.api_item(row)} for row in rows],
    }


@router.get(
    "/reports/billing",
    response={200: BillingReportOut, **READ_ERRORS},
    summary="Billing Detail Report",
    openapi_extra=_csv_responses("BillingReportOut"),
)
def billing_report(request: HttpRequest, query: Query[BillingQuery]) -> Any:
    """One row per key active in `month`, grouped by product: its active days, whether that
    makes it billable, its unit price and amount on the chosen prices. A month whose
    statements are final is read from them, as billed (`final`); otherwise it is
    provisional. CSV columns: MSP, Product Key, Product, Edition, Account, Site, Machine
    Name, Activated, Deactivated, Active Days, Billable, Unit Price, Amount, Currency."""
    scope = _scope(request, query.msp_id, query.prices)
    now = timezone.now()
    running = running_month(now)
    month = inputs.parse_month(query.month, running=running) if query.month else running
    report = billing_detail.BillingDetailReport(
        scope=scope,
        month=month,
        products=_catalog(),
        sort=_sort(query.sort, billing_detail.COLUMNS, billing_detail.DEFAULT_SORT),
        now=now,
    )
    if _wants_csv(request, query.format):
        return csv.response(f"billing-detail-report-{month}.csv", report.header, report.csv_rows())
    rows, totals = report.page_and_totals(query.offset, query.limit)
    return {
        "month": str(month),
        "status": report.status(totals),
        "prices": scope.basis,
        "sort": report.sort.param,
        "count": totals.keys,
        "limit": query.limit,
        "offset": query.offset,
        "items": [
            {"key_id": row["key_id"], "final": row["source"] == "final", **report.api_item(row)}
            for row in rows
        ],
        "subtotals": [
            {
                "product": s.product,
                "edition": s.edition,
                "currency": s.currency or None,
                "keys": s.keys,
                "billable": s.billable,
                "unpriced": s.unpriced,
                "amount": s.amount_plain or None,
            }
            for s in totals.subtotals
        ],
        "totals": [
            {"currency": currency, "amount": money.format_plain(minor, currency)}
            for currency, minor in totals.by_currency()
        ],
    }


@router.get(
    "/reports/forecast",
    response={200: ForecastOut, **READ_ERRORS},
    summary="Forecast: turning billable soon",
    openapi_extra=_csv_responses("ForecastOut"),
)
def forecast_report(request: HttpRequest, query: Query[ForecastQuery]) -> Any:
    """The running month's forecast: the keys active now that are not billable yet, with
    their active days so far and the day each becomes billable if it stays active (sorted
    by that day by default). With `key_id`, that key's forecast alone, billable or not.
    CSV columns: MSP, Product Key, Product, Edition, Account, Site, Machine Name, Activated,
    Active Days, Billable On."""
    scope = _scope(request, query.msp_id)
    now = timezone.now()
    report = soon.TurningBillableSoon(
        scope=scope,
        products=_catalog(),
        sort=_sort(query.sort, soon.COLUMNS, soon.DEFAULT_SORT),
        now=now,
    )
    if query.key_id is not None:
        return _one_key(request, query, report, scope)
    if _wants_csv(request, query.format):
        name = f"turning-billable-soon-{local_date(now)}.csv"
        return csv.response(name, report.header, report.csv_rows())
    rows, count = report.page_and_count(query.offset, query.limit)
    return {
        **_forecast_head(report, query),
        "count": count,
        "items": [
            {"key_id": row["key_id"], "billable": False, "active_now": True, **report.api_item(row)}
            for row in rows
        ],
    }


def _forecast_head(report: soon.TurningBillableSoon, query: ForecastQuery) -> dict[str, Any]:
    return {
        "month": str(report.month),
        "today": report.today,
        "sort": report.sort.param,
        "limit": query.limit,
        "offset": query.offset,
    }


def _one_key(
    request: HttpRequest, query: ForecastQuery, report: soon.TurningBillableSoon, scope: ReportScope
) -> HttpResponse | dict[str, Any]:
    key = referenced("key_id", get_key_for_user, principal(request), query.key_id)
    if scope.msp is not None and key.msp_id != scope.msp.pk:
        raise ValidationError({"key_id": "That key belongs to another MSP than msp_id."})
    row, forecast = key_forecast(key, path=scope.root.path, now=report.now)
    item = {
        "key_id": key.pk,
        "msp": key.msp.name,
        "product_key": key.key,
        "product": key.product.name,
        "edition": key.product.edition_label(row.edition) if row and row.edition else "",
        "account": key.account.name,
        "site": key.site.name if key.site_id else None,
        "machine_name": (row.machine_name if row else key.machine_name) or "",
        "activated": row.activated_at if row else None,
        "active_days": forecast.active_days if forecast else 0,
        "billable": forecast.billable if forecast else False,
        "billable_on": forecast.billable_on if forecast else None,
        "active_now": forecast.active_now if forecast else False,
    }
    if _wants_csv(request, query.format):
        cells = [
            item["msp"],
            item["product_key"],
            item["product"],
            item["edition"],
            item["account"],
            item["site"] or "",
            item["machine_name"],
            csv.iso_time(item["activated"]),
            str(item["active_days"]),
            csv.iso_date(item["billable_on"]),
        ]
        return csv.response(f"forecast-{key.key}.csv", report.header, [cells])
    return {**_forecast_head(report, query), "count": 1, "limit": query.limit, "offset": 0, "items": [item]}
