"""Where the bench meets the Reports tab: the URLs it asks for and the SQL of the same rows
for the database's own dump, built from the report's own query (keyledger.reports).

Each returns None while the Reports tab does not exist, so the dataset and the month close
can be measured on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

from bench.billing import sqlbits as q
from bench.billing.data import Dataset
from keyledger.billing.months import local_date, local_midnight
from keyledger.billing.sql import Sql, dt
from keyledger.organisations.models import Organisation


@dataclass(frozen=True)
class ActivationCsv:
    url: str
    warm_up: str  # a page of the same report, asked for first
    select: Sql  # the rows of the file, in its order, as the report selects them
    describe: str


@dataclass(frozen=True)
class Page:
    what: str
    url: str
    viewer: str  # "vendor", "distributor" or "msp" (bench.billing.people)


def _url(name: str, **query: object) -> str | None:
    try:
        base = reverse(name)
    except NoReverseMatch:
        return None
    return f"{base}?{urlencode(query)}" if query else base


def periods_from(day: date) -> int:
    """Active periods that overlap `day` … today, as the Activation Report counts them."""
    return int(
        q.scalar(
            """SELECT COUNT(*) FROM billing_activespan
               WHERE (ends_period OR ended_at IS NULL) AND (ended_at IS NULL OR ended_at > %s)""",
            [dt(local_midnight(day))],
        )
    )


def csv_start(data: Dataset) -> date:
    """The latest Start Date whose report to today has a row per key (a million rows for a
    million keys), or the dataset's first day when no day has that many."""
    wanted = data.scale.keys
    low, high = data.month.first_day - timedelta(days=200), local_date(data.now)
    if periods_from(low) < wanted:
        return low
    while (high - low).days > 1:
        middle = low + timedelta(days=(high - low).days // 2)
        low, high = (middle, high) if periods_from(middle) >= wanted else (low, middle)
    return low


def activation_csv(data: Dataset) -> ActivationCsv | None:
    start, end = csv_start(data), local_date(data.now)
    url = _url("portal:reports_activation_csv", start=start.isoformat(), end=end.isoformat())
    if url is None:
        return None
    from keyledger.keys.models import Product
    from keyledger.reports.activation import COLUMNS, DEFAULT_SORT, ActivationReport, Days
    from keyledger.reports.scope import ReportScope
    from keyledger.reports.sorting import parse_sort

    report = ActivationReport(
        scope=ReportScope(viewer=Organisation.objects.get(pk=data.vendor_id)),
        days=Days(start, end),
        products=list(Product.objects.order_by("sort_order", "name", "pk")),
        sort=parse_sort(None, COLUMNS, DEFAULT_SORT),
        now=data.now,
    )
    rows = report.rows_sql()
    order = report.sort.order_by(report.tiebreak, first=report.group_by)
    columns = ", ".join(f"r.{c.key}" for c in report.columns)
    return ActivationCsv(
        url=url,
        warm_up=_url("portal:reports_activation", start=end.isoformat(), end=end.isoformat()) or url,
        select=Sql(f"SELECT {columns} FROM ({rows.text}) r {order}", list(rows.params)),
        describe=f"every MSP, {start} to {end}, vendor staff, sorted by Activated",
    )


def panel() -> str:
    return _url("portal:reports") or "/"


def pages(data: Dataset) -> list[Page]:
    month, msp = str(data.month), data.big_msp_id
    first, last = data.month.first_day.isoformat(), data.month.last_day.isoformat()
    keys = f"{data.scale.big_msp_keys:,} keys"
    found = [
        (
            "Billing Detail Report, first page: the MSP itself",
            "portal:reports_billing",
            {"month": month},
            "msp",
        ),
        (
            "Billing Detail Report, first page: its distributor picks the MSP",
            "portal:reports_billing",
            {"month": month, "msp": msp},
            "distributor",
        ),
        (
            f"Activation Report, first page: the MSP, {month}",
            "portal:reports_activation",
            {"start": first, "end": last},
            "msp",
        ),
        (
            f"Activation Report, first page: every MSP, {month} (vendor staff)",
            "portal:reports_activation",
            {"start": first, "end": last},
            "vendor",
        ),
    ]
    result = []
    for what, name, query, viewer in found:
        url = _url(name, **query)
        if url is not None:
            label = what if viewer == "vendor" else f"{what} ({keys})"
            result.append(Page(label, url, viewer))
    return result
