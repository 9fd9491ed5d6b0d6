"""Turning billable soon (SPEC §8, the forecast): the keys active now that are not billable
yet this month, with their active days so far and the day each becomes billable if it
stays active; keys that cannot reach the threshold before the month ends have no such day.

Active days come from the billing engine for the running month up to now
(engine.month_keys with as_of); the day is engine.billable_on's, and the database sorts by
the same number of days it counts from today.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from keyledger.billing.engine import billable_on, month_keys, running_month, threshold
from keyledger.billing.months import local_date
from keyledger.billing.sql import Sql
from keyledger.keys.models import Product
from keyledger.reports import csv
from keyledger.reports.labels import edition_label
from keyledger.reports.scope import ReportScope
from keyledger.reports.sorting import CODE, DATE, NUMBER, TIME, Column, Sort, parse_sort
from keyledger.reports.table import Cell, Table

COLUMNS = (
    Column("msp", "MSP", "r.msp"),
    Column("product_key", "Product Key", "r.product_key", CODE),
    Column("product", "Product", "r.product"),
    Column("edition", "Edition", "r.edition"),
    Column("account", "Account", "r.account"),
    Column("site", "Site", "r.site"),
    Column("machine_name", "Machine Name", "r.machine_name"),
    Column("activated", "Activated", "r.activated", TIME),
    Column("active_days", "Active Days", "r.active_days", NUMBER),
    Column("billable_on", "Billable On", "r.billable_on", DATE),
)
HEADER = [c.heading for c in COLUMNS]
DEFAULT_SORT = "billable_on"


def sort_for(value: str | None) -> Sort:
    return parse_sort(value, COLUMNS, DEFAULT_SORT)


class TurningBillableSoon(Table):
    columns = COLUMNS
    default_sort = DEFAULT_SORT
    tiebreak = ("r.key_id",)

    def __init__(
        self,
        *,
        scope: ReportScope,
        products: Sequence[Product],
        product_ids: Sequence[int] = (),
        sort: Sort,
        now: datetime,
    ) -> None:
        super().__init__(sort=sort)
        self.scope = scope
        self.products = list(products)
        self.product_ids = tuple(product_ids)
        self.now = now
        self.month = running_month(now)
        self.today = local_date(now)

    def rows_sql(self) -> Sql:
        keys = month_keys(self.month, self.scope.engine_scope(self.product_ids), as_of=self.now)
        edition = edition_label(self.products, product="mk.product_id", edition="mk.edition")
        # Days from today to the day the key becomes billable; none when that is past the
        # month's end (engine.billable_on gives the same day).
        needed = threshold() + 1
        days_left = (self.month.last_day - self.today).days
        text = f"""
            SELECT mk.key_id, m.name AS msp, k.key AS product_key, p.name AS product,
                   {edition.text} AS edition, a.name AS account, s.name AS site,
                   mk.machine_name, mk.activated_at AS activated, mk.active_days,
                   CASE WHEN %s - mk.active_days > %s THEN NULL ELSE %s - mk.active_days END AS billable_on
            FROM ({keys.text}) mk
            JOIN keys_productkey k ON k.id = mk.key_id
            JOIN keys_product p ON p.id = mk.product_id
            JOIN organisations_organisation m ON m.id = mk.msp_id
            JOIN customers_account a ON a.id = mk.account_id
            LEFT JOIN customers_site s ON s.id = mk.site_id
            WHERE mk.active_at_end = 1 AND mk.billable = 0
        """
        return Sql(text, [*edition.params, needed, days_left, needed, *keys.params])

    def billable_on(self, active_days: int) -> date | None:
        return billable_on(self.month, active_days=int(active_days), today=self.today)

    def _day(self, days_from_today: Any) -> date | None:
        if days_from_today is None:
            return None
        return self.today + timedelta(days=int(days_from_today))

    def csv_converter(self, column: Column) -> Callable[[Any], str] | None:
        if column.key == "billable_on":
            return lambda value: csv.iso_date(self._day(value))
        return super().csv_converter(column)

    def shown(self, row: dict[str, Any]) -> dict[str, Any]:
        row["billable_on"] = self._day(row["billable_on"])
        return super().shown(row)

    def cell(self, column: Column, row: dict[str, Any]) -> Cell:
        if column.key == "billable_on":
            day = row["billable_on"]
            return Cell(column, day, day.strftime("%-d %b %Y") if day else "Not this month")
        return super().cell(column, row)
