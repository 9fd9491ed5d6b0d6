"""The Billing Detail Report (SPEC §9): one row per key active in a month, with its active
days, whether that makes it billable, and its unit price and amount on the chosen basis.

Live rows come from the billing engine (engine.month_keys: the one place the rule lives)
joined with keys, products, accounts, sites and MSPs, and priced by pricing.key_price.
Where the statement that bills a key on the chosen basis is final, the key's row comes
from that statement's items instead, as billed: the report of a final month never
changes, whatever happens later. A scope where some statements are final and others are
drafts mixes both, each key from where its own statement stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from keyledger.billing import money
from keyledger.billing.engine import month_keys, running_month
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.pricing import amount, customer_expression, key_price
from keyledger.billing.sql import Sql, fetch_dicts
from keyledger.keys.models import Product
from keyledger.reports.labels import edition_label
from keyledger.reports.scope import ReportScope
from keyledger.reports.sorting import MONEY, NUMBER, TIME, YES_NO, Column, Sort, parse_sort
from keyledger.reports.table import Table

COLUMNS = (
    Column("msp", "MSP", "r.msp"),
    Column("product_key", "Product Key", "r.product_key"),
    Column("product", "Product", "r.product"),
    Column("edition", "Edition", "r.edition"),
    Column("account", "Account", "r.account"),
    Column("site", "Site", "r.site"),
    Column("machine_name", "Machine Name", "r.machine_name"),
    Column("activated", "Activated", "r.activated", TIME),
    Column("deactivated", "Deactivated", "r.deactivated", TIME),
    Column("active_days", "Active Days", "r.active_days", NUMBER),
    Column("billable", "Billable", "r.billable", YES_NO),
    Column("unit_price", "Unit Price", "r.unit_price", MONEY),
    Column("amount", "Amount", "r.amount", MONEY),
    Column("currency", "Currency", "r.currency"),
)
HEADER = [c.heading for c in COLUMNS]
DEFAULT_SORT = "product_key"
FINAL = Statement.Status.FINAL


def sort_for(value: str | None) -> Sort:
    return parse_sort(value, COLUMNS, DEFAULT_SORT)


def shown_amount(minor: int | None, currency: str) -> str:
    if minor is None or not currency:
        return ""
    return f"{money.to_decimal(minor, currency):,}"


@dataclass
class Subtotal:
    product_id: int
    product: str
    edition: str
    currency: str  # "" for keys without a price
    keys: int
    billable: int
    amount_minor: int | None
    unpriced: int  # billable keys without a price
    final_rows: int

    @property
    def amount_text(self) -> str:
        """For pages: '1,234.50' ('' without a price)."""
        return shown_amount(self.amount_minor, self.currency)

    @property
    def amount_plain(self) -> str:
        return money.format_plain(self.amount_minor, self.currency)


@dataclass
class Totals:
    subtotals: list[Subtotal] = field(default_factory=list)

    @property
    def keys(self) -> int:
        return sum(s.keys for s in self.subtotals)

    @property
    def billable(self) -> int:
        return sum(s.billable for s in self.subtotals)

    @property
    def unpriced(self) -> int:
        return sum(s.unpriced for s in self.subtotals)

    @property
    def final_rows(self) -> int:
        return sum(s.final_rows for s in self.subtotals)

    def shown_by_currency(self) -> list[tuple[str, str]]:
        return [(currency, shown_amount(minor, currency)) for currency, minor in self.by_currency()]

    def by_currency(self) -> list[tuple[str, int]]:
        """Grand totals: (currency, amount in minor units), by currency code."""
        sums: dict[str, int] = {}
        for s in self.subtotals:
            if s.currency and s.amount_minor is not None:
                sums[s.currency] = sums.get(s.currency, 0) + s.amount_minor
        return sorted(sums.items())

    def for_product(self, product_id: int) -> list[Subtotal]:
        return [s for s in self.subtotals if s.product_id == product_id]


class BillingDetailReport(Table):
    columns = COLUMNS
    # On screen each product has its own table, named by its caption.
    screen_columns = tuple(c for c in COLUMNS if c.key != "product")
    default_sort = DEFAULT_SORT
    tiebreak = ("r.key_id", "r.source")
    # One table per product: rows are grouped by product before the chosen sort.
    group_by = ("r.product_order ASC", "LOWER(r.product) ASC", "r.product_id ASC")

    def __init__(
        self, *, scope: ReportScope, month: Month, products: Sequence[Product], sort: Sort, now: datetime
    ) -> None:
        super().__init__(sort=sort)
        self.scope = scope
        self.month = month
        self.products = list(products)
        self.now = now
        self._rows: Sql | None = None

    @property
    def running(self) -> bool:
        return self.month == running_month(self.now)

    def _customer(self, msp_id: str, msp_path: str) -> str:
        viewer = self.scope.viewer
        return customer_expression(
            self.scope.basis, viewer_id=viewer.pk, viewer_path=viewer.path, msp_id=msp_id, msp_path=msp_path
        )

    def rows_sql(self) -> Sql:
        if self._rows is None:
            self._rows = self._build()
        return Sql(self._rows.text, list(self._rows.params))

    def _build(self) -> Sql:
        month = self.month
        first_day = connection.ops.adapt_datefield_value(month.first_day)
        keys = month_keys(month, self.scope.engine_scope(), as_of=self.now if self.running else None)
        customer = self._customer("mk.msp_id", "m.path")
        price = key_price(
            month, customer=customer, product="mk.product_id", edition="mk.edition", fields="k.fields"
        )
        live_edition = edition_label(self.products, product="mk.product_id", edition="mk.edition")
        item_edition = edition_label(self.products, product="si.product_id", edition="si.edition")
        item_customer = self._customer("si.msp_id", "m.path")
        root = self.scope.root
        msp_filter = " AND si.msp_id = %s" if self.scope.msp is not None else ""
        text = f"""
            SELECT x.source, x.key_id, x.msp, x.product_key, x.product_id, x.product, x.product_order,
                   x.edition, x.account, x.site, x.machine_name, x.activated, x.deactivated,
                   x.active_days, x.billable, x.unit_minor AS unit_price,
                   {amount("x.unit_minor", "x.billable")} AS amount,
                   CASE WHEN x.unit_minor IS NULL THEN NULL ELSE x.list_currency END AS currency
            FROM (
                SELECT 'live' AS source, mk.key_id, m.name AS msp, k.key AS product_key,
                       mk.product_id, p.name AS product, p.sort_order AS product_order,
                       {live_edition.text} AS edition, a.name AS account, s.name AS site,
                       mk.machine_name, mk.activated_at AS activated, mk.deactivated_at AS deactivated,
                       mk.active_days, mk.billable, {price.unit} AS unit_minor, {price.currency} AS list_currency
                FROM ({keys.text}) mk
                JOIN keys_productkey k ON k.id = mk.key_id
                JOIN keys_product p ON p.id = mk.product_id
                JOIN organisations_organisation m ON m.id = mk.msp_id
                JOIN customers_account a ON a.id = mk.account_id
                LEFT JOIN customers_site s ON s.id = mk.site_id
                {price.joins.text}
                WHERE NOT EXISTS (
                    SELECT 1 FROM billing_statement st
                    WHERE st.customer_id = {customer} AND st.month = %s AND st.status = %s)
            ) x
            UNION ALL
            SELECT 'final' AS source, si.key_id, si.msp_name AS msp, k.key AS product_key,
                   si.product_id, si.product_name AS product, p.sort_order AS product_order,
                   {item_edition.text} AS edition, si.account_name AS account,
                   NULLIF(si.site_name, '') AS site, si.machine_name,
                   si.activated_at AS activated, si.deactivated_at AS deactivated,
                   si.active_days, CASE WHEN si.billable THEN 1 ELSE 0 END AS billable,
                   si.unit_minor AS unit_price, si.amount_minor AS amount,
                   CASE WHEN si.unit_minor IS NULL OR si.currency = '' THEN NULL ELSE si.currency END
                       AS currency
            FROM billing_statementitem si
            JOIN billing_statement st ON st.id = si.statement_id
            JOIN keys_productkey k ON k.id = si.key_id
            JOIN keys_product p ON p.id = si.product_id
            JOIN organisations_organisation m ON m.id = si.msp_id
            WHERE st.month = %s AND st.status = %s AND st.customer_id = {item_customer}
              AND m.path LIKE %s{msp_filter}
        """
        params: list = [
            *live_edition.params,
            *keys.params,
            *price.joins.params,
            first_day,
            FINAL,
            *item_edition.params,
            first_day,
            FINAL,
            root.path + "%",
        ]
        if self.scope.msp is not None:
            params.append(self.scope.msp.pk)
        return Sql(text, params)

    def totals(self) -> Totals:
        """Subtotals per product, edition and currency over every row (not just a page):
        one query, however many keys."""
        rows = self.rows_sql()
        sql = Sql(
            f"""
            SELECT r.product_id, MAX(r.product) AS product, MAX(r.product_order) AS product_order,
                   r.edition, r.currency, COUNT(*) AS keys, SUM(r.billable) AS billable,
                   SUM(r.amount) AS amount,
                   SUM(CASE WHEN r.billable = 1 AND r.unit_price IS NULL THEN 1 ELSE 0 END) AS unpriced,
                   SUM(CASE WHEN r.source = 'final' THEN 1 ELSE 0 END) AS final_rows
            FROM ({rows.text}) r
            GROUP BY r.product_id, r.edition, r.currency
            ORDER BY MAX(r.product_order), LOWER(MAX(r.product)), r.product_id, LOWER(r.edition), r.currency
            """,
            rows.params,
        )
        return Totals(
            [
                Subtotal(
                    product_id=row["product_id"],
                    product=row["product"],
                    edition=row["edition"] or "",
                    currency=row["currency"] or "",
                    keys=int(row["keys"]),
                    billable=int(row["billable"] or 0),
                    amount_minor=int(row["amount"]) if row["amount"] is not None else None,
                    unpriced=int(row["unpriced"] or 0),
                    final_rows=int(row["final_rows"] or 0),
                )
                for row in fetch_dicts(sql)
            ]
        )

    def status(self, totals: Totals) -> str:
        """ "final" when every row comes from a final statement, "partly final" when some do,
        "provisional" otherwise (and always for the running month)."""
        if self.running or totals.final_rows == 0:
            return "provisional"
        if totals.final_rows == totals.keys:
            return "final"
        return "partly final"
