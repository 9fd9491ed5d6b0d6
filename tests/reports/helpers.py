"""Reading reports back in tests: whole tables, CSV files parsed with the csv module, and a
plain-Python reference of how a sorted report must be ordered."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from keyledger.keys.models import Product
from keyledger.reports import csv as report_csv
from keyledger.reports.activation import ActivationReport, Days
from keyledger.reports.activation import sort_for as activation_sort
from keyledger.reports.billing_detail import BillingDetailReport
from keyledger.reports.billing_detail import sort_for as billing_sort
from keyledger.reports.scope import ReportScope
from keyledger.reports.sorting import TEXT, Column
from keyledger.reports.table import Table
from tests.reports.conftest import NOVEMBER, NOW


def catalog() -> list[Product]:
    return list(Product.objects.all())


def activation(
    scope: ReportScope, first: date, last: date, *, sort: str = "", product_ids=()
) -> ActivationReport:
    return ActivationReport(
        scope=scope,
        days=Days(first, last),
        products=catalog(),
        product_ids=product_ids,
        sort=activation_sort(sort),
        now=NOW,
    )


def billing(scope: ReportScope, month=NOVEMBER, *, sort: str = "") -> BillingDetailReport:
    return BillingDetailReport(scope=scope, month=month, products=catalog(), sort=billing_sort(sort), now=NOW)


def all_rows(table: Table) -> list[dict[str, Any]]:
    return table.fetch_page(0, 10_000)


def csv_bytes(table: Table) -> bytes:
    return b"".join(report_csv.encode(table.header, table.csv_rows()))


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def reference_order(
    rows: Sequence[dict[str, Any]],
    column: Column,
    *,
    descending: bool,
    tiebreak: Callable[[dict[str, Any]], Any],
    group: Callable[[dict[str, Any]], Any] | None = None,
) -> list[dict[str, Any]]:
    """How the report must order `rows`: empty values last (first when descending), text
    ignoring case, ties in the tiebreak's ascending order, all within `group`."""
    base = sorted(rows, key=tiebreak)

    def value(row: dict[str, Any]) -> Any:
        v = row[column.key]
        return (v.lower(), v) if column.kind == TEXT else v

    filled = sorted([r for r in base if r[column.key] is not None], key=value, reverse=descending)
    empty = [r for r in base if r[column.key] is None]
    ordered = [*empty, *filled] if descending else [*filled, *empty]
    return sorted(ordered, key=group) if group is not None else ordered
