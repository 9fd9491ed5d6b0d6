"""A statement's lines: charges priced from the customer's own price list in force that month,
and the corrections of earlier final statements, with totals per currency.

Prices come from keyledger.billing.pricing.effective_prices, the same rows key_price prices a
single key with; the rules are the same too: per billed edition ("" for a product without
editions), or per license for a product with job license types (a key holding a type
without a price has no price). Amounts are whole minor units: a line's amount is its
quantity times its unit, exact, so nothing is rounded twice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from keyledger.billing.models import PriceList, StatementLine
from keyledger.billing.months import Month
from keyledger.billing.pricing import effective_prices
from keyledger.billing.sql import Sql, fetch_dicts
from keyledger.billing.statements.aggregate import Catalog, Tally

Kind = StatementLine.Kind
DASH = " \u2013 "


class PriceBook:
    """The prices in force in one month, for some customers (or all)."""

    def __init__(self, month: Month, customer_ids: Collection[int] | None = None) -> None:
        self.month = month
        sql = effective_prices(month)
        lists = PriceList.objects.order_by()
        if customer_ids is not None:
            ids = sorted({int(c) for c in customer_ids})
            if not ids:
                ids = [0]
            marks = ", ".join(["%s"] * len(ids))
            sql = Sql(f"SELECT * FROM ({sql.text}) ep WHERE ep.customer_id IN ({marks})", [*sql.params, *ids])
            lists = lists.filter(customer_id__in=ids)
        self._units = {
            (int(r["customer_id"]), int(r["product_id"]), r["item"]): int(r["unit_minor"])
            for r in fetch_dicts(sql)
        }
        self._currency = dict(lists.values_list("customer_id", "currency"))

    def currency(self, customer_id: int) -> str:
        return self._currency.get(customer_id, "")

    def unit(self, customer_id: int, product_id: int, item: str) -> int | None:
        return self._units.get((customer_id, product_id, item))

    def key_unit(
        self, customer_id: int, catalog: Catalog, product_id: int, edition: str, licenses: dict[str, int]
    ) -> int | None:
        """One key's unit price, as pricing.key_price gives it; None without a price."""
        if not catalog.is_licensed(product_id):
            return self.unit(customer_id, product_id, edition)
        total = 0
        for column in catalog.licenses[product_id]:
            count = licenses.get(column.code, 0)
            if count == 0:
                continue
            unit = self.unit(customer_id, product_id, column.code)
            if unit is None:
                return None
            total += count * unit
        return total


@dataclass
class LineDraft:
    """A line as computed, before it is written."""

    kind: str
    description: str
    quantity: int
    unit_minor: int | None
    amount_minor: int | None
    currency: str
    product_id: int | None = None
    item: str = ""
    corrects_id: int | None = None
    key_id: int | None = None

    def as_line(self, statement_id: int, position: int) -> StatementLine:
        return StatementLine(
            statement_id=statement_id,
            position=position,
            kind=self.kind,
            product_id=self.product_id,
            item=self.item,
            description=self.description[:500],
            quantity=self.quantity,
            unit_minor=self.unit_minor,
            amount_minor=self.amount_minor,
            currency=self.currency,
            corrects_id=self.corrects_id,
            key_id=self.key_id,
        )


@dataclass
class Content:
    """Everything a statement says, computed: its header counts and its lines."""

    currency: str = ""
    key_count: int = 0
    billable_count: int = 0
    unpriced_count: int = 0
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        sums: dict[str, int] = {}
        for line in self.lines:
            if line.amount_minor is not None and line.currency:
                sums[line.currency] = sums.get(line.currency, 0) + line.amount_minor
        return dict(sorted(sums.items()))


def _edition_order(catalog: Catalog, product_id: int, item: str) -> tuple[int, str]:
    codes = catalog.products[product_id].edition_codes()
    return (codes.index(item), "") if item in codes else (len(codes), item)


def _description(catalog: Catalog, product_id: int, item: str, *, licensed: bool) -> str:
    product = catalog.products[product_id]
    if licensed:
        label = next(c.label for c in catalog.licenses[product_id] if c.code == item)
        return f"{product.name}{DASH}{label} job licenses"
    if product.editions:
        return f"{product.name}{DASH}{product.edition_label(item) if item else 'no edition reported'}"
    return f"{product.name}{DASH}{item}" if item else product.name


def charges(tally: Tally, customer_id: int, book: PriceBook, catalog: Catalog) -> Content:
    """The charge lines of one customer's tally, priced from its own list."""
    currency = book.currency(customer_id)
    per_edition: dict[tuple[int, str], int] = {}
    per_license: dict[tuple[int, str], int] = {}
    unpriced = 0
    for (product_id, edition, mask), (billable, licenses) in tally.groups.items():
        if catalog.is_licensed(product_id):
            for column in catalog.licenses[product_id]:
                per_license[(product_id, column.code)] = per_license.get((product_id, column.code), 0) + (
                    licenses.get(column.code, 0)
                )
            held = catalog.held(product_id, mask)
            if billable and any(book.unit(customer_id, product_id, c.code) is None for c in held):
                unpriced += billable
        else:
            per_edition[(product_id, edition)] = per_edition.get((product_id, edition), 0) + billable
            if billable and book.unit(customer_id, product_id, edition) is None:
                unpriced += billable
    rows: list[tuple[tuple, LineDraft]] = []
    for (product_id, item), quantity in per_edition.items():
        if quantity:
            rows.append(
                (
                    (product_id, *_edition_order(catalog, product_id, item)),
                    _charge(catalog, book, customer_id, currency, product_id, item, quantity, licensed=False),
                )
            )
    for (product_id, code), quantity in per_license.items():
        if quantity:
            bit = next(c.bit for c in catalog.licenses[product_id] if c.code == code)
            rows.append(
                (
                    (product_id, bit, code),
                    _charge(catalog, book, customer_id, currency, product_id, code, quantity, licensed=True),
                )
            )
    product_order = {
        p.pk: i
        for i, p in enumerate(sorted(catalog.products.values(), key=lambda p: (p.sort_order, p.name, p.pk)))
    }
    rows.sort(key=lambda r: (product_order[r[0][0]], r[0][1:]))
    return Content(
        currency=currency,
        key_count=tally.keys,
        billable_count=tally.billable,
        unpriced_count=unpriced,
        lines=[line for _, line in rows],
    )


def _charge(
    catalog: Catalog,
    book: PriceBook,
    customer_id: int,
    currency: str,
    product_id: int,
    item: str,
    quantity: int,
    *,
    licensed: bool,
) -> LineDraft:
    unit = book.unit(customer_id, product_id, item)
    return LineDraft(
        kind=Kind.CHARGE,
        description=_description(catalog, product_id, item, licensed=licensed),
        quantity=quantity,
        unit_minor=unit,
        # No price: a line without an amount, never a zero.
        amount_minor=None if unit is None else unit * quantity,
        currency=currency,
        product_id=product_id,
        item=item,
    )
