"""Price lists (SPEC §8): what an organisation charges each organisation directly below it.

The actions (`create_price_list`, `add_price`) are the only writers of PriceList and Price;
the queries answer the portal and the API. Which price applies to a key in SQL is
keyledger.billing.pricing's business; `in_force` here is the same rule for one list.
"""

from keyledger.billing.price_lists.actions import add_price, create_price_list
from keyledger.billing.price_lists.items import Item, item_label, item_name, items_of, unit_note
from keyledger.billing.price_lists.queries import (
    CurrentPrice,
    customers_of,
    final_through,
    in_force,
    lists_below,
    own_price_list,
    price_list_prices,
    with_items_priced,
)

__all__ = [
    "CurrentPrice",
    "Item",
    "add_price",
    "create_price_list",
    "customers_of",
    "final_through",
    "in_force",
    "item_label",
    "item_name",
    "items_of",
    "lists_below",
    "own_price_list",
    "price_list_prices",
    "unit_note",
    "with_items_priced",
]
