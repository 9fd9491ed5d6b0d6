"""What the price list pages and the API read: the lists an organisation issues and pays,
and the prices of one list in a month with their history. A few queries each, however many
lists, customers or prices there are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import CharField, Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Lower

from keyledger.billing import money
from keyledger.billing.models import Price, PriceList, Statement
from keyledger.billing.months import Month
from keyledger.billing.price_lists.items import Item, item_label, items_of
from keyledger.keys.models import Product
from keyledger.organisations.models import Organisation


def _items_priced(prices: QuerySet[Price]) -> Coalesce:
    """The number of distinct items (product and item) `prices` price, as a subquery."""
    counted = (
        prices.order_by()
        .values("price_list")
        .annotate(n=Count(Concat(Cast("product_id", CharField()), Value(":"), "item"), distinct=True))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_items_priced(lists: QuerySet[PriceList]) -> QuerySet[PriceList]:
    return lists.annotate(items_priced=_items_priced(Price.objects.filter(price_list=OuterRef("pk"))))


def customers_of(organisations: QuerySet[Organisation], issuer: Organisation) -> QuerySet[Organisation]:
    """The organisations directly below `issuer` (taken from `organisations`, the viewer's
    reach), each with the id, currency and number of items of the list `issuer` keeps for it
    (None and 0 without one)."""
    issued = PriceList.objects.filter(customer=OuterRef("pk"), issuer=issuer)
    return (
        organisations.filter(parent=issuer)
        .select_related("parent")  # kind_label looks one level up
        .annotate(
            price_list_id=Subquery(issued.values("pk")[:1]),
            price_list_currency=Subquery(issued.values("currency")[:1]),
            items_priced=_items_priced(
                Price.objects.filter(price_list__customer=OuterRef("pk"), price_list__issuer=issuer)
            ),
        )
        .order_by(Lower("name"), "pk")
    )


def own_price_list(visible: QuerySet[PriceList], organisation: Organisation) -> PriceList | None:
    """The list of what `organisation` pays, if it is kept."""
    return with_items_priced(visible.filter(customer=organisation)).first()


def lists_below(visible: QuerySet[PriceList], organisation: Organisation) -> QuerySet[PriceList]:
    """The lists `organisation` sees but neither issues nor pays: those kept further down."""
    return with_items_priced(
        visible.exclude(issuer=organisation)
        .exclude(customer=organisation)
        .select_related("issuer", "customer")
    ).order_by(Lower("issuer__name"), Lower("customer__name"), "pk")


def final_through(price_list: PriceList) -> Month | None:
    """The latest month whose statement for the list's customer is final: prices start later."""
    month = (
        Statement.objects.filter(
            issuer_id=price_list.issuer_id, customer_id=price_list.customer_id, status=Statement.Status.FINAL
        )
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return Month.of(month) if month is not None else None


def in_force(prices: Iterable[Price], month: Month) -> dict[tuple[int, str], Price]:
    """For each item, the price that applies in `month`: the latest from `month` or before,
    as keyledger.billing.pricing.effective_prices chooses it in SQL."""
    found: dict[tuple[int, str], Price] = {}
    for price in prices:
        ref = (price.product_id, price.item)
        if price.valid_from <= month.first_day and (
            ref not in found or price.valid_from > found[ref].valid_from
        ):
            found[ref] = price
    return found


@dataclass(frozen=True)
class CurrentPrice:
    """A catalog item's price in a month (None: not priced), and its next one, if set."""

    item: Item
    price: Price | None
    next: Price | None
    currency: str

    @property
    def shown(self) -> str:
        return money.format_display(self.price.unit_minor, self.currency) if self.price else ""

    @property
    def since(self) -> Month | None:
        return Month.of(self.price.valid_from) if self.price else None

    @property
    def next_shown(self) -> str:
        return money.format_display(self.next.unit_minor, self.currency) if self.next else ""

    @property
    def next_month(self) -> Month | None:
        return Month.of(self.next.valid_from) if self.next else None


@dataclass(frozen=True)
class HistoryRow:
    price: Price
    item_label: str
    status: str  # "current", "scheduled" (from a later month) or "replaced"
    currency: str

    @property
    def shown(self) -> str:
        return money.format_display(self.price.unit_minor, self.currency)

    @property
    def month(self) -> Month:
        return Month.of(self.price.valid_from)


@dataclass(frozen=True)
class ListPrices:
    month: Month
    currency: str
    current: list[CurrentPrice]
    history: list[HistoryRow]


def price_list_prices(price_list: PriceList, month: Month) -> ListPrices:
    """Every item of the catalog with its price in `month`, and every price ever set (newest
    first per item). Products no longer offered are shown while the list prices them."""
    prices = list(
        Price.objects.filter(price_list=price_list)
        .select_related("product")
        .order_by("product__sort_order", "product__name", "item", "-valid_from", "-pk")
    )
    priced_products = {p.product_id: p.product for p in prices}
    products = [
        *Product.objects.filter(is_active=True)
        .exclude(pk__in=priced_products)
        .order_by("sort_order", "name"),
        *priced_products.values(),
    ]
    products.sort(key=lambda p: (p.sort_order, p.name, p.pk))
    current_by_item = in_force(prices, month)
    next_by_item: dict[tuple[int, str], Price] = {}
    for price in prices:  # newest first per item: the last one seen after `month` is the next
        if price.valid_from > month.first_day:
            next_by_item[(price.product_id, price.item)] = price
    items: list[Item] = []
    for product in products:
        catalog = items_of(product)
        listed = {item.code for item in catalog}
        # An item the catalog has since dropped still shows while the list prices it.
        dropped = sorted({p.item for p in prices if p.product_id == product.pk} - listed)
        items += catalog + [Item(product, code, item_label(product, code)) for code in dropped]
    currency = price_list.currency
    current = [
        CurrentPrice(item, current_by_item.get(item.ref), next_by_item.get(item.ref), currency)
        for item in items
    ]
    current_ids = {p.pk for p in current_by_item.values()}

    def status(price: Price) -> str:
        if price.pk in current_ids:
            return "current"
        return "scheduled" if price.valid_from > month.first_day else "replaced"

    history = [HistoryRow(p, item_label(p.product, p.item), status(p), currency) for p in prices]
    return ListPrices(month=month, currency=currency, current=current, history=history)
