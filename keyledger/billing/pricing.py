"""Prices in SQL: which price of a list applies in a month, and what one key costs.

A price list belongs to its customer (the organisation billed); each price applies from
its month until a later price of the same item. A key's unit price for a customer:
- per edition (a product with editions, SP-MSP): the price of the edition it is billed under;
- per job license (a product with job license types, ImageManager): the sum over the types
  of the licenses the key holds times the price of one; a type the key holds none of needs
  no price;
- per key (anything else, GRE): the price of item "".
No price: NULL, never zero (the reports show the line without an amount).

Which list prices a report (the basis): `msp`, what the key's MSP is charged; `own`, what
the viewer itself is charged (a distributor's cost); `sale`, what the viewer charges the
organisation below it on the key's path (the vendor's price to a distributor).
"""

from __future__ import annotations

from dataclasses import dataclass

from keyledger.billing.months import Month
from keyledger.billing.sql import SAFE_NAME, Sql, json_int, path_segment_id
from keyledger.keys.models import Product

BASIS_MSP = "msp"
BASIS_OWN = "own"
BASIS_SALE = "sale"


def effective_prices(month: Month, *, near: str | None = None) -> Sql:
    """Rows (customer_id, issuer_id, currency, product_id, item, unit_minor) of the prices
    that apply in `month`: for each list and item, the latest from `month` or before.

    `near`, an organisation's path: only the lists of the organisations above it, it, and
    below it, where the customer of any basis of its reports is. (SQLite builds the prices
    in full before looking one up: all of them is tens of thousands of rows.)"""
    where, extra = "", []
    if near is not None:
        where = (
            " AND pl.customer_id IN (SELECT o.id FROM organisations_organisation o"
            " WHERE o.path LIKE %s OR %s LIKE o.path || '%%')"
        )
        extra = [near + "%", near]
    return Sql(
        f"""
        SELECT pl.customer_id, pl.issuer_id, pl.currency, p.product_id, p.item, p.unit_minor
        FROM billing_price p
        JOIN billing_pricelist pl ON pl.id = p.price_list_id
        WHERE p.valid_from <= %s{where}
          AND NOT EXISTS (
              SELECT 1 FROM billing_price later
              WHERE later.price_list_id = p.price_list_id AND later.product_id = p.product_id
                AND later.item = p.item AND later.valid_from > p.valid_from AND later.valid_from <= %s)
        """,
        [month.first_day, *extra, month.first_day],
    )


def customer_expression(basis: str, *, viewer_id: int, viewer_path: str, msp_id: str, msp_path: str) -> str:
    """SQL for the id of the organisation whose price list prices a key row. `msp_id` and
    `msp_path` are the SQL columns of the key's MSP (its id and its path)."""
    if basis == BASIS_MSP:
        return msp_id
    if basis == BASIS_OWN:
        return str(int(viewer_id))
    if basis == BASIS_SALE:
        return path_segment_id(msp_path, len(viewer_path))
    raise ValueError(f"Unknown price basis {basis!r}")


@dataclass
class KeyPrice:
    """LEFT JOINs to add after a FROM that has the key row, and the expressions they give."""

    joins: Sql
    unit: str  # the key's unit price in minor units; NULL when unpriced
    currency: str  # the price list's currency; NULL without a list


def key_price(
    month: Month, *, customer: str, product: str, edition: str, fields: str, near: str | None = None
) -> KeyPrice:
    """The unit price of a key row for the customer `customer` (an SQL expression), given
    the SQL columns of its product id, billed edition and the key's fields (job licenses).
    `near`: see effective_prices."""
    prices = effective_prices(month, near=near)
    params: list = []
    joins: list[str] = []

    def join(alias: str, item_sql: str) -> None:
        joins.append(
            f"LEFT JOIN ({prices.text}) {alias} ON {alias}.customer_id = {customer}"
            f" AND {alias}.product_id = {product} AND {alias}.item = {item_sql}"
        )
        params.extend(prices.params)

    join("px", f"COALESCE({edition}, '')")
    licensed: list[str] = []
    n = 0
    for p in Product.objects.exclude(job_license_types=[]).order_by("pk"):
        terms = []
        for job in p.job_license_types:
            code = job["code"]
            if not SAFE_NAME.match(code):
                continue  # not a code a price can name (the catalog admin refuses these)
            n += 1
            alias = f"pj{n}"
            join(alias, f"'{code}'")
            count = json_int(fields, code)
            terms.append(f"CASE WHEN {count} = 0 THEN 0 ELSE {count} * {alias}.unit_minor END")
        if terms:
            licensed.append(f"WHEN {int(p.pk)} THEN ({' + '.join(terms)})")
    unit = f"CASE {product} {' '.join(licensed)} ELSE px.unit_minor END" if licensed else "px.unit_minor"
    currency = f"(SELECT currency FROM billing_pricelist WHERE customer_id = {customer})"
    return KeyPrice(joins=Sql("\n".join(joins), params), unit=unit, currency=currency)


def amount(unit: str, billable: str) -> str:
    """A key's amount: its unit price when billable, 0 when not, NULL without a price."""
    return f"CASE WHEN ({unit}) IS NULL THEN NULL WHEN {billable} = 1 THEN ({unit}) ELSE 0 END"


def pricing_mode(product: Product) -> str:
    """How a product is priced: per "license" (job license types), per "edition", or per "key"."""
    if product.job_license_types:
        return "license"
    if product.editions:
        return "edition"
    return "key"
