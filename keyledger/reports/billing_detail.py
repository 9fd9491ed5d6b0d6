"""The Billing Detail Report (SPEC §9): one row per key active in a month, with its active
days, whether that makes it billable, and its unit price and amount on the chosen basis.

Live rows come from the billing engine (engine.month_keys: the one place the rule lives)
joined with keys, products, accounts, sites and MSPs, and priced by pricing.key_price.
A page is found first with only what its sort needs, and only its own rows are then
joined and priced, so the first page of an MSP with 10,000 keys costs little more than
counting them; the totals are priced per group of keys (reports.billing_totals).
Where the statement that bills a key on the chosen basis is final, the key's row comes
from that statement's items instead, as billed: the report of a final month never
changes, whatever happens later. A scope where some statements are final and others are
drafts mixes both, each key from where its own statement stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from keyledger.billing.engine import month_keys, running_month
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.pricing import BASIS_SALE, amount, customer_expression, key_price
from keyledger.billing.sql import Sql, fetch, fetch_dicts, vendor
from keyledger.keys.models import Product
from keyledger.reports import billing_totals
from keyledger.reports.billing_totals import Subtotal, Totals, shown_amount
from keyledger.reports.forecast import KeysScope
from keyledger.reports.labels import edition_label
from keyledger.reports.scope import ReportScope
from keyledger.reports.sorting import CODE, MONEY, NUMBER, TIME, YES_NO, Column, Sort, parse_sort
from keyledger.reports.table import Table

COLUMNS = (
    Column("msp", "MSP", "r.msp"),
    Column("product_key", "Product Key", "r.product_key", CODE),
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


__all__ = ["COLUMNS", "HEADER", "BillingDetailReport", "Subtotal", "Totals", "shown_amount", "sort_for"]

# Sorting by these needs every key priced; by the others a page is found without prices.
PRICED = frozenset({"unit_price", "amount", "currency"})
# The join each live column needs, besides the engine's row and its product.
JOINS = {
    "k": "JOIN keys_productkey k ON k.id = mk.key_id",
    "m": "JOIN organisations_organisation m ON m.id = mk.msp_id",
    "a": "JOIN customers_account a ON a.id = mk.account_id",
    "s": "LEFT JOIN customers_site s ON s.id = mk.site_id",
}
NEEDS = {"msp": "m", "product_key": "k", "account": "a", "site": "s"}


class BillingDetailReport(Table):
    columns = COLUMNS
    # On screen each product has its own table, named by its caption.
    screen_columns = tuple(c for c in COLUMNS if c.key != "product")
    default_sort = DEFAULT_SORT
    tiebreak = ("r.key_id", "r.source")
    # One table per product: rows are grouped by product before the chosen sort.
    group_by = ("r.product_order ASC", "r.product_id ASC")

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

    # --- the parts of the SQL ---------------------------------------------------------------

    def keys_sql(self, key_ids: Sequence[int] | None = None) -> Sql:
        """The engine's rows of the month (up to now for the running month), for the scope
        or for some of its keys."""
        scope = self.scope.engine_scope()
        if key_ids is not None:
            scope = KeysScope(path=scope.path, msp_id=scope.msp_id, key_ids=tuple(key_ids))
        return month_keys(self.month, scope, as_of=self.now if self.running else None)

    def customer(self, msp_id: str, msp_path: str) -> str:
        """SQL for the organisation whose prices (and statement) a key is shown at."""
        viewer = self.scope.viewer
        return customer_expression(
            self.scope.basis, viewer_id=viewer.pk, viewer_path=viewer.path, msp_id=msp_id, msp_path=msp_path
        )

    def _first_day(self) -> Any:
        return connection.ops.adapt_datefield_value(self.month.first_day)

    def not_final(self, customer: str) -> Sql:
        """Live keys: those whose statement on the chosen basis is not final."""
        return Sql(
            f"""NOT EXISTS (SELECT 1 FROM billing_statement st
                WHERE st.customer_id = {customer} AND st.month = %s AND st.status = %s)""",
            [self._first_day(), FINAL],
        )

    def items_where(self, key_ids: Sequence[int] | None = None) -> Sql:
        """The items of the final statements of the month on the chosen basis, in the scope
        (`si`, its statement `st` and its MSP `m` joined)."""
        text = f"st.month = %s AND st.status = %s AND st.customer_id = {self.customer('si.msp_id', 'm.path')}"
        text += " AND m.path LIKE %s"
        params: list = [self._first_day(), FINAL, self.scope.root.path + "%"]
        if self.scope.msp is not None:
            text += " AND si.msp_id = %s"
            params.append(self.scope.msp.pk)
        if key_ids is not None:
            text += f" AND si.key_id IN ({', '.join(['%s'] * len(key_ids))})" if key_ids else " AND 1 = 0"
            params += list(key_ids)
        return Sql(text, params)

    def _live_columns(self) -> dict[str, Sql]:
        return {
            "msp": Sql("m.name"),
            "product_key": Sql("k.key"),
            "product": Sql("p.name"),
            "edition": edition_label(self.products, product="mk.product_id", edition="mk.edition"),
            "account": Sql("a.name"),
            "site": Sql("s.name"),
            "machine_name": Sql("mk.machine_name"),
            "activated": Sql("mk.activated_at"),
            "deactivated": Sql("mk.deactivated_at"),
            "active_days": Sql("mk.active_days"),
            "billable": Sql("mk.billable"),
        }

    def _item_columns(self) -> dict[str, Sql]:
        return {
            "msp": Sql("si.msp_name"),
            "product_key": Sql("k.key"),
            "product": Sql("si.product_name"),
            "edition": edition_label(self.products, product="si.product_id", edition="si.edition"),
            "account": Sql("si.account_name"),
            "site": Sql("NULLIF(si.site_name, '')"),
            "machine_name": Sql("si.machine_name"),
            "activated": Sql("si.activated_at"),
            "deactivated": Sql("si.deactivated_at"),
            "active_days": Sql("si.active_days"),
            "billable": Sql("CASE WHEN si.billable THEN 1 ELSE 0 END"),
        }

    @staticmethod
    def _select(columns: dict[str, Sql], names: Sequence[str]) -> Sql:
        parts = [columns[n] for n in names]
        return Sql(
            ", ".join(f"{c.text} AS {n}" for c, n in zip(parts, names, strict=True)),
            [p for c in parts for p in c.params],
        )

    def _union(
        self,
        *,
        live_keys: Sql,
        live_joins: Sequence[str],
        names: Sequence[str],
        priced: bool,
        item_ids: Sequence[int] | None = None,
    ) -> Sql:
        """Live rows and final statements' rows with the columns `names` (and their prices)."""
        customer = self.customer("mk.msp_id", "m.path")
        joins = [JOINS[j] for j in JOINS if j in live_joins or (j == "m" and self.scope.basis == BASIS_SALE)]
        live = self._select(self._live_columns(), names)
        final = self.not_final(customer)
        items = self._select(self._item_columns(), names)
        where = self.items_where(item_ids)
        item_key_join = "JOIN keys_productkey k ON k.id = si.key_id" if "product_key" in names else ""
        if priced:
            price = key_price(
                self.month,
                customer=customer,
                product="mk.product_id",
                edition="mk.edition",
                fields="k.fields",
                near=self.scope.root.path,
            )
            live_price = f", {price.unit} AS unit_minor, {price.currency} AS list_currency"
            item_price = """, si.unit_minor AS unit_price, si.amount_minor AS amount,
                CASE WHEN si.unit_minor IS NULL OR si.currency = '' THEN NULL ELSE si.currency END AS currency"""
            outer_price = f""", x.unit_minor AS unit_price, {amount("x.unit_minor", "x.billable")} AS amount,
                CASE WHEN x.unit_minor IS NULL THEN NULL ELSE x.list_currency END AS currency"""
            price_joins = price.joins
        else:
            live_price = item_price = outer_price = ""
            price_joins = Sql("")
        outer = ", ".join(f"x.{n}" for n in names)
        text = f"""
            SELECT x.source, x.key_id, x.product_id, x.product_order, {outer}{outer_price}
            FROM (
                SELECT 'live' AS source, mk.key_id, mk.product_id, p.sort_order AS product_order,
                       {live.text}{live_price}
                FROM ({live_keys.text}) mk
                JOIN keys_product p ON p.id = mk.product_id
                {" ".join(joins)}
                {price_joins.text}
                WHERE {final.text}
            ) x
            UNION ALL
            SELECT 'final' AS source, si.key_id, si.product_id, p.sort_order AS product_order,
                   {items.text}{item_price}
            FROM billing_statementitem si
            JOIN billing_statement st ON st.id = si.statement_id
            JOIN keys_product p ON p.id = si.product_id
            JOIN organisations_organisation m ON m.id = si.msp_id
            {item_key_join}
            WHERE {where.text}
        """
        params = [
            *live.params,
            *live_keys.params,
            *price_joins.params,
            *final.params,
            *items.params,
            *where.params,
        ]
        return Sql(text, params)

    # --- the report --------------------------------------------------------------------------

    def rows_sql(self) -> Sql:
        """Every row, priced: the CSV file, the count, and a page sorted by a price."""
        if self._rows is None:
            names = [c.key for c in COLUMNS if c.key not in PRICED]
            self._rows = self._union(
                live_keys=self.keys_sql(), live_joins=tuple(JOINS), names=names, priced=True
            )
        return Sql(self._rows.text, list(self._rows.params))

    def _rows_of(self, live_ids: Sequence[int], final_ids: Sequence[int]) -> Sql:
        names = [c.key for c in COLUMNS if c.key not in PRICED]
        return self._union(
            live_keys=self.keys_sql(live_ids),
            live_joins=tuple(JOINS),
            names=names,
            priced=True,
            item_ids=final_ids,
        )

    def fetch_page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """A page: its keys found with only what the sort needs, then those keys' rows."""
        key = self.sort.column.key
        if key in PRICED:
            return super().fetch_page(offset, limit)
        names = [key]
        light = self._union(
            live_keys=self.keys_sql(),
            live_joins=[NEEDS[key]] if key in NEEDS else [],
            names=names,
            priced=False,
        )
        order = self.sort.order_by(self.tiebreak, first=self.group_by)
        page = fetch(
            Sql(
                f"SELECT r.source, r.key_id FROM ({light.text}) r {order} LIMIT %s OFFSET %s",
                [*light.params, int(limit), int(offset)],
            )
        )
        return self._rows_in_order([(source, int(key_id)) for source, key_id in page])

    def page_and_totals(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], Totals]:
        """A page and the totals, with the engine's rows of the month counted once for both
        (a CTE the database keeps): two queries for a page, whatever the number of keys."""
        key = self.sort.column.key
        if key in PRICED:
            return self.fetch_page(offset, limit), self.totals()
        counted = self.keys_sql()
        shared = Sql("SELECT * FROM report_keys")
        light = self._union(
            live_keys=shared, live_joins=[NEEDS[key]] if key in NEEDS else [], names=[key], priced=False
        )
        order = self.sort.order_by(self.tiebreak, first=self.group_by)
        sums = billing_totals.totals_sql(self, keys=shared)
        # SQLite counts the keys once if told to keep them; PostgreSQL plans better with the
        # keys' statistics, inlining them in both places (still one statement, one round trip).
        # The page is a LIMIT, not a filter on every row's position: the database keeps only
        # the rows up to the page's end while sorting (a bounded sort), then numbers those.
        keep = "MATERIALIZED" if vendor() == "sqlite" else "NOT MATERIALIZED"
        text = f"""
            WITH report_keys AS {keep} ({counted.text})
            SELECT 'page' AS part, pg.source, pg.key_id, pg.pos, NULL AS product_id, NULL AS product,
                   NULL AS product_order, NULL AS edition, NULL AS currency, NULL AS keys,
                   NULL AS billable, NULL AS amount, NULL AS unpriced, NULL AS final_rows
            FROM (SELECT r.source, r.key_id, ROW_NUMBER() OVER ({order}) AS pos
                  FROM (SELECT r.* FROM ({light.text}) r {order} LIMIT %s OFFSET %s) r) pg
            UNION ALL
            SELECT 'total', NULL, NULL, NULL, t.product_id, t.product, t.product_order, t.edition,
                   t.currency, t.keys, t.billable, t.amount, t.unpriced, t.final_rows
            FROM ({sums.text}) t
        """
        params = [*counted.params, *light.params, int(limit), int(offset), *sums.params]
        found = fetch_dicts(Sql(text, params))
        totals = billing_totals.totals_from(self, [r for r in found if r["part"] == "total"])
        page = sorted((r for r in found if r["part"] == "page"), key=lambda r: int(r["pos"]))
        return self._rows_in_order([(r["source"], int(r["key_id"])) for r in page]), totals

    def _rows_in_order(self, page: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        if not page:
            return []
        live_ids = [key_id for source, key_id in page if source == "live"]
        final_ids = [key_id for source, key_id in page if source == "final"]
        rows = {(r["source"], r["key_id"]): r for r in fetch_dicts(self._rows_of(live_ids, final_ids))}
        return [self.shown(rows[(source, key_id)]) for source, key_id in page]

    def totals(self) -> Totals:
        """Subtotals per product, edition and currency over every row (not just a page):
        one query, however many keys."""
        return billing_totals.totals(self)

    def status(self, totals: Totals) -> str:
        """ "final" when every row comes from a final statement, "partly final" when some do,
        "provisional" otherwise (and always for the running month)."""
        if self.running or totals.final_rows == 0:
            return "provisional"
        if totals.final_rows == totals.keys:
            return "final"
        return "partly final"
