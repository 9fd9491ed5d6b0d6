"""The Billing Detail Report's subtotals (per product, edition and currency) and grand
totals (per currency), over every key of the month, not just a page.

Keys are counted first and priced after: the live keys are grouped by what their price
depends on (customer, product, edition, and the job licenses a key holds where the
product is priced per license), so a month of 10,000 keys is priced a few times, not
10,000 times. Keys of final statements are summed from the statements' items, as billed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keyledger.billing import money
from keyledger.billing.pricing import BASIS_SALE, key_price
from keyledger.billing.sql import Sql, fetch_dicts

if TYPE_CHECKING:
    from keyledger.reports.billing_detail import BillingDetailReport


def shown_amount(minor: int | None, currency: str) -> str:
    """For pages: '1,234.50' ('' without an amount)."""
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
    product_order: int = 0

    @property
    def amount_text(self) -> str:
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

    def by_currency(self) -> list[tuple[str, int]]:
        """Grand totals: (currency, amount in minor units), by currency code."""
        sums: dict[str, int] = {}
        for s in self.subtotals:
            if s.currency and s.amount_minor is not None:
                sums[s.currency] = sums.get(s.currency, 0) + s.amount_minor
        return sorted(sums.items())

    def shown_by_currency(self) -> list[tuple[str, str]]:
        return [(currency, shown_amount(minor, currency)) for currency, minor in self.by_currency()]

    def for_product(self, product_id: int) -> list[Subtotal]:
        return [s for s in self.subtotals if s.product_id == product_id]


def totals_sql(report: BillingDetailReport, keys: Sql | None = None) -> Sql:
    """Rows (product_id, product, product_order, edition code, currency, keys, billable,
    amount, unpriced, final_rows), one per product, edition and currency; `keys`: the
    engine's rows, when the statement already has them."""
    keys = keys or report.keys_sql()
    licensed = [p.pk for p in report.products if p.job_license_types]
    # The job licenses a key holds price it only where its product is priced per license;
    # elsewhere they would split the groups for nothing.
    if licensed:
        ids = ", ".join(str(int(pk)) for pk in licensed)
        fields = f"CASE WHEN mk.product_id IN ({ids}) THEN k.fields END"
        key_join = f"LEFT JOIN keys_productkey k ON mk.product_id IN ({ids}) AND k.id = mk.key_id"
    else:
        fields, key_join = "NULL", ""
    # Only the sale basis needs an MSP's path (its distributor on the viewer's path).
    if report.scope.basis == BASIS_SALE:
        msp_path, msp_join = "m.path", "JOIN organisations_organisation m ON m.id = mk.msp_id"
    else:
        msp_path, msp_join = "''", ""
    # PostgreSQL refuses a constant in GROUP BY.
    group = ["mk.msp_id", "mk.product_id", "COALESCE(mk.edition, '')"]
    group += [e for e in (msp_path, fields) if e not in ("''", "NULL")]
    customer = report.customer("g.msp_id", "g.msp_path")
    price = key_price(
        report.month,
        customer=customer,
        product="g.product_id",
        edition="g.edition",
        fields="g.fields",
        near=report.scope.root.path,
    )
    # Whether a statement is final is asked once per group, not once per key.
    final = report.not_final(customer)
    items = report.items_where()
    text = f"""
        SELECT t.product_id, MAX(t.product) AS product, MAX(p.sort_order) AS product_order, t.edition,
               t.currency, SUM(t.n) AS keys, SUM(t.billable_n) AS billable, SUM(t.amount) AS amount,
               SUM(t.unpriced) AS unpriced, SUM(t.final_rows) AS final_rows
        FROM (
            SELECT g.product_id, p.name AS product, g.edition,
                   CASE WHEN ({price.unit}) IS NULL THEN NULL ELSE {price.currency} END AS currency,
                   g.n, g.billable_n,
                   CASE WHEN ({price.unit}) IS NULL THEN NULL ELSE ({price.unit}) * g.billable_n END AS amount,
                   CASE WHEN ({price.unit}) IS NULL THEN g.billable_n ELSE 0 END AS unpriced,
                   0 AS final_rows
            FROM (
                SELECT mk.msp_id, {msp_path} AS msp_path, mk.product_id, COALESCE(mk.edition, '') AS edition,
                       {fields} AS fields, COUNT(*) AS n, SUM(mk.billable) AS billable_n
                FROM ({keys.text}) mk
                {msp_join}
                {key_join}
                GROUP BY {", ".join(group)}
            ) g
            JOIN keys_product p ON p.id = g.product_id
            {price.joins.text}
            WHERE {final.text}
            UNION ALL
            SELECT si.product_id, si.product_name, si.edition,
                   CASE WHEN si.unit_minor IS NULL OR si.currency = '' THEN NULL ELSE si.currency END,
                   1, CASE WHEN si.billable THEN 1 ELSE 0 END, si.amount_minor,
                   CASE WHEN si.billable AND si.unit_minor IS NULL THEN 1 ELSE 0 END, 1
            FROM billing_statementitem si
            JOIN billing_statement st ON st.id = si.statement_id
            JOIN organisations_organisation m ON m.id = si.msp_id
            WHERE {items.text}
        ) t
        JOIN keys_product p ON p.id = t.product_id
        GROUP BY t.product_id, t.edition, t.currency
    """
    return Sql(text, [*keys.params, *price.joins.params, *final.params, *items.params])


def totals(report: BillingDetailReport) -> Totals:
    """One query, however many keys."""
    return totals_from(report, fetch_dicts(totals_sql(report)))


def totals_from(report: BillingDetailReport, rows: Iterable[dict[str, Any]]) -> Totals:
    by_product = {p.pk: p for p in report.products}
    merged: dict[tuple[int, str, str], Subtotal] = {}
    for row in rows:
        product = by_product.get(row["product_id"])
        code = row["edition"] or ""
        label = product.edition_label(code) if product is not None and code else code
        currency = row["currency"] or ""
        key = (row["product_id"], label, currency)
        amount = int(row["amount"]) if row["amount"] is not None else None
        if key in merged:  # two codes with one label
            s = merged[key]
            s.keys += int(row["keys"])
            s.billable += int(row["billable"] or 0)
            s.unpriced += int(row["unpriced"] or 0)
            s.final_rows += int(row["final_rows"] or 0)
            if amount is not None:
                s.amount_minor = (s.amount_minor or 0) + amount
            continue
        merged[key] = Subtotal(
            product_id=row["product_id"],
            product=row["product"],
            product_order=int(row["product_order"] or 0),
            edition=label,
            currency=currency,
            keys=int(row["keys"]),
            billable=int(row["billable"] or 0),
            amount_minor=amount,
            unpriced=int(row["unpriced"] or 0),
            final_rows=int(row["final_rows"] or 0),
        )
    ordered = sorted(
        merged.values(),
        key=lambda s: (s.product_order, s.product_id, s.edition.lower(), s.currency),
    )
    return Totals(ordered)
