"""Price lists: read for those who see them, write for their issuer."""

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from keyledger.access import (
    get_organisation_for_user,
    get_price_list_for_user,
    price_lists_for_user,
    require,
    require_issuer,
)
from keyledger.api.auth import actor, principal, token_auth
from keyledger.api.errors import ERRORS, READ_ERRORS, api_field_names, referenced
from keyledger.api.pagination import Pagination
from keyledger.api.schemas.common import PathId
from keyledger.api.schemas.price_lists import (
    MonthQuery,
    PriceIn,
    PriceListDetailOut,
    PriceListFilter,
    PriceListIn,
    PriceListOut,
    PriceOut,
)
from keyledger.billing import money
from keyledger.billing.models import Price, PriceList
from keyledger.billing.months import Month
from keyledger.billing.price_lists import (
    add_price,
    create_price_list,
    item_label,
    price_list_prices,
    with_items_priced,
)
from keyledger.billing.pricing import pricing_mode
from keyledger.organisations.roles import Permission

router = Router(tags=["Price lists"], auth=token_auth)


def _price(price: Price, currency: str) -> dict:
    return {
        "id": price.pk,
        "product": price.product.code,
        "product_name": price.product.name,
        "item": price.item,
        "item_label": item_label(price.product, price.item),
        "month": str(Month.of(price.valid_from)),
        "price": money.format_plain(price.unit_minor, currency),
        "currency": currency,
        "created_at": price.created_at,
    }


@router.get("/price-lists", response={200: list[PriceListOut], **READ_ERRORS}, summary="List price lists")
@paginate(Pagination)
def list_price_lists(request: HttpRequest, filters: Query[PriceListFilter]) -> QuerySet[PriceList]:
    """The lists the token's organisation issues (one per organisation directly below it), the
    one it pays, and those kept further below it."""
    who = principal(request)
    require(who, Permission.VIEW_REPORTS)
    qs = with_items_priced(price_lists_for_user(who)).select_related("issuer", "customer")
    if filters.customer_id is not None:
        qs = qs.filter(
            customer=referenced("customer_id", get_organisation_for_user, who, filters.customer_id)
        )
    return qs.order_by("issuer__path", Lower("customer__name"), "pk")


@router.get(
    "/price-lists/{price_list_id}",
    response={200: PriceListDetailOut, **READ_ERRORS},
    summary="Get a price list with its prices",
)
def get_price_list(request: HttpRequest, price_list_id: PathId, query: Query[MonthQuery]) -> PriceList:
    """`current`: every item of the catalog with its price in the month (null: not priced);
    `history`: every price ever set, newest first for each item."""
    who = principal(request)
    require(who, Permission.VIEW_REPORTS)
    price_list = get_price_list_for_user(who, price_list_id)
    month = Month.parse(query.month) if query.month else Month.of(timezone.now())
    shown = price_list_prices(price_list, month)
    currency = price_list.currency
    price_list.items_priced = len({(row.price.product_id, row.price.item) for row in shown.history})
    price_list.shown_month = str(month)
    price_list.shown_current = [
        {
            "product": row.item.product.code,
            "product_name": row.item.product.name,
            "item": row.item.code,
            "item_label": row.item.label,
            "pricing": pricing_mode(row.item.product),
            "price": money.format_plain(row.price.unit_minor, currency) if row.price else None,
            "since": str(row.since) if row.since else None,
            "next_price": money.format_plain(row.next.unit_minor, currency) if row.next else None,
            "next_month": str(row.next_month) if row.next_month else None,
        }
        for row in shown.current
    ]
    price_list.shown_history = [_price(row.price, currency) | {"status": row.status} for row in shown.history]
    return price_list


@router.post("/price-lists", response={201: PriceListOut, **ERRORS}, summary="New price list")
def new_price_list(request: HttpRequest, payload: PriceListIn):
    """A list of what the token's organisation charges `customer_id`, an organisation directly
    below it: one list per customer, in one currency."""
    who = principal(request)
    require(who, Permission.MANAGE_PRICES)
    customer = referenced("customer_id", get_organisation_for_user, who, payload.customer_id)
    with api_field_names({"customer": "customer_id"}):
        price_list = create_price_list(
            issuer=who.organisation, customer=customer, currency=payload.currency, actor=actor(request)
        )
    price_list.items_priced = 0
    return Status(201, price_list)


@router.post("/price-lists/{price_list_id}/prices", response={201: PriceOut, **ERRORS}, summary="Add a price")
def new_price(request: HttpRequest, price_list_id: PathId, payload: PriceIn):
    """A price of one item from a month on. Prices are never edited: a change is a new price
    from a later month. A month whose statement for the customer is final takes no price."""
    who = principal(request)
    price_list = get_price_list_for_user(who, price_list_id)
    require_issuer(who, issuer_id=price_list.issuer_id, permission=Permission.MANAGE_PRICES)
    price = add_price(
        price_list=price_list,
        product=payload.product,
        item=payload.item,
        month=Month.parse(payload.month),
        price=payload.price,
        actor=actor(request),
    )
    return Status(201, _price(price, price_list.currency))
