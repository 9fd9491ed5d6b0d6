"""What a statement counts, in one SQL pass: the keys of a month grouped per MSP, product,
billed edition and the set of job license types held, with how many of them are billable
and how many licenses of each type the billable ones hold.

The rows to group come from the billing engine (engine.month_keys, for drafts) or from a
final statement's own items (the lines of a final statement are summed from the keys it
froze, so lines and items always agree). Either way the result is a few rows per MSP, small
enough to roll up to the organisations above in Python.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from keyledger.billing.sql import SAFE_NAME, Sql, fetch_dicts, json_int
from keyledger.keys.models import Product


@dataclass(frozen=True)
class LicenseColumn:
    """One job license type of one product, and the bit it sets in a group's mask."""

    product_id: int
    code: str
    label: str
    alias: str
    bit: int


@dataclass
class Catalog:
    """The products as pricing sees them (keyledger.billing.pricing.key_price): a product with
    job license types is priced per license, any other per billed edition ("" for none)."""

    products: dict[int, Product]
    licenses: dict[int, list[LicenseColumn]]

    @classmethod
    def load(cls) -> Catalog:
        products = {p.pk: p for p in Product.objects.order_by("pk")}
        licenses: dict[int, list[LicenseColumn]] = {}
        n = 0
        for product in products.values():
            columns = []
            for job in product.job_license_types or []:
                # A code a price cannot name is not priced by key_price either.
                if not SAFE_NAME.match(str(job.get("code", ""))):
                    continue
                n += 1
                columns.append(
                    LicenseColumn(
                        product.pk, job["code"], job.get("label", job["code"]), f"j{n}", len(columns)
                    )
                )
            if columns:
                licenses[product.pk] = columns
        return cls(products=products, licenses=licenses)

    def is_licensed(self, product_id: int) -> bool:
        return product_id in self.licenses

    def held(self, product_id: int, mask: int) -> list[LicenseColumn]:
        """The license types a group with `mask` holds at least one of."""
        return [c for c in self.licenses.get(product_id, []) if mask & (1 << c.bit)]

    def mask_of(self, product_id: int, fields: dict[str, Any]) -> int:
        mask = 0
        for column in self.licenses.get(product_id, []):
            if _count(fields, column.code) > 0:
                mask |= 1 << column.bit
        return mask

    def licenses_of(self, product_id: int, fields: dict[str, Any]) -> dict[str, int]:
        return {c.code: _count(fields, c.code) for c in self.licenses.get(product_id, [])}


def _count(fields: dict[str, Any], code: str) -> int:
    try:
        return int(fields.get(code) or 0)
    except (TypeError, ValueError):
        return 0


def as_fields(value: Any) -> dict[str, Any]:
    """A key's JSON fields as read by a raw query (SQLite gives text)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


@dataclass
class Group:
    msp_id: int
    product_id: int
    edition: str
    mask: int
    keys: int
    billable: int
    licenses: dict[str, int] = field(default_factory=dict)


def items_source(statement_id: int) -> Sql:
    """A statement's frozen items as a source of key rows."""
    return Sql(
        """SELECT si.key_id, si.msp_id, si.product_id, si.edition,
                  CASE WHEN si.billable THEN 1 ELSE 0 END AS billable
           FROM billing_statementitem si WHERE si.statement_id = %s""",
        [statement_id],
    )


def key_groups(source: Sql, catalog: Catalog) -> list[Group]:
    """The rows of `source` (key_id, msp_id, product_id, edition, billable 1/0: engine.month_keys
    or items_source) grouped per MSP, product, edition and license types held."""
    columns = [c for cs in catalog.licenses.values() for c in cs]
    selects = []
    for c in columns:
        count = json_int("k.fields", c.code)
        selects.append(
            f"SUM(CASE WHEN mk.billable = 1 AND mk.product_id = {int(c.product_id)} THEN {count} ELSE 0 END)"
            f" AS {c.alias}"
        )
    if columns:
        cases = []
        for product_id, cs in catalog.licenses.items():
            bits = " + ".join(
                f"CASE WHEN {json_int('k.fields', c.code)} > 0 THEN {1 << c.bit} ELSE 0 END" for c in cs
            )
            cases.append(f"WHEN {int(product_id)} THEN ({bits})")
        mask = f"CASE mk.product_id {' '.join(cases)} ELSE 0 END"
        ids = ", ".join(str(int(p)) for p in catalog.licenses)
        # Only keys of licensed products need their fields: the join stays small.
        join = (
            f"LEFT JOIN (SELECT id, fields FROM keys_productkey WHERE product_id IN ({ids})) k"
            " ON k.id = mk.key_id"
        )
    else:
        mask, join = "0", ""
    extra = "".join(f", {s}" for s in selects)
    text = f"""
        SELECT mk.msp_id, mk.product_id, COALESCE(mk.edition, '') AS edition, {mask} AS mask,
               COUNT(*) AS keys, SUM(mk.billable) AS billable{extra}
        FROM ({source.text}) mk
        {join}
        GROUP BY 1, 2, 3, 4
    """
    groups = []
    for row in fetch_dicts(Sql(text, list(source.params))):
        product_id = int(row["product_id"])
        groups.append(
            Group(
                msp_id=int(row["msp_id"]),
                product_id=product_id,
                edition=row["edition"] or "",
                mask=int(row["mask"] or 0),
                keys=int(row["keys"]),
                billable=int(row["billable"] or 0),
                licenses={c.code: int(row[c.alias] or 0) for c in catalog.licenses.get(product_id, [])},
            )
        )
    return groups


@dataclass
class Tally:
    """What one customer is billed for: its groups, merged over the MSPs of its subtree."""

    keys: int = 0
    billable: int = 0
    groups: dict[tuple[int, str, int], list[Any]] = field(default_factory=dict)

    def add(self, group: Group) -> None:
        self.keys += group.keys
        self.billable += group.billable
        entry = self.groups.setdefault((group.product_id, group.edition, group.mask), [0, {}])
        entry[0] += group.billable
        for code, count in group.licenses.items():
            entry[1][code] = entry[1].get(code, 0) + count


def tally(groups: Iterable[Group]) -> Tally:
    result = Tally()
    for group in groups:
        result.add(group)
    return result
