"""What a price list prices: the items of each product of the catalog.

A product with job license types (ImageManager) is priced per license type, one price per
license the key holds; a product with editions (SP-MSP) per edition; any other (GRE) with
one price per key, the item "".
"""

from __future__ import annotations

from dataclasses import dataclass

from keyledger.billing.pricing import pricing_mode
from keyledger.keys.models import Product

PER_KEY = ""
PER_KEY_LABEL = "Per key"


@dataclass(frozen=True)
class Item:
    product: Product
    code: str  # an edition code, a job license type code, or "" (per key)
    label: str

    @property
    def ref(self) -> tuple[int, str]:
        return (self.product.pk, self.code)

    @property
    def note(self) -> str:
        return unit_note(self.product)


def items_of(product: Product) -> list[Item]:
    """The items of `product` a price list prices, in catalog order."""
    mode = pricing_mode(product)
    if mode == "license":
        return [Item(product, j["code"], j["label"]) for j in product.job_license_types]
    if mode == "edition":
        return [Item(product, e["code"], e["label"]) for e in product.editions]
    return [Item(product, PER_KEY, PER_KEY_LABEL)]


def item_label(product: Product, code: str) -> str:
    """The catalog's label of an item; an item the catalog has since dropped keeps its code."""
    return next((i.label for i in items_of(product) if i.code == code), code or PER_KEY_LABEL)


def unit_note(product: Product) -> str:
    """What one price of the product is for, said once beside its prices."""
    return {
        "license": "per license of this type the key holds",
        "edition": "per key, by the edition it runs",
        "key": "per key",
    }[pricing_mode(product)]


def item_name(product: Product, code: str) -> str:
    """An item named in a sentence: "ShadowProtect Server", "GRE per key"."""
    if not code:
        return f"{product.tab_label} per key"
    return f"{product.tab_label} {item_label(product, code)}"
