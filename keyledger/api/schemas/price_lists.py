import re
from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field, StringConstraints

from keyledger.api.schemas.common import BodyIn, Id, NoNul, Stated
from keyledger.billing import money
from keyledger.billing.models import PriceList
from keyledger.billing.months import Month

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
PRICE_PATTERN = r"^[0-9]+(\.[0-9]+)?$"


# The patterns are stated in the schema; these validators enforce them with words for people.
def _month(value: str) -> str:
    try:
        if re.fullmatch(MONTH_PATTERN, value):
            Month.parse(value)
            return value
    except ValueError:
        pass
    raise ValueError("Enter a month as YYYY-MM, e.g. 2026-11.")


def _currency(value: str) -> str:
    if not re.fullmatch(CURRENCY_PATTERN, value):
        raise ValueError("Enter an ISO 4217 currency code, e.g. EUR, USD or AUD.")
    return value


def _price(value: str) -> str:
    if value.startswith("-"):
        raise ValueError("A price cannot be negative.")
    if not re.fullmatch(PRICE_PATTERN, value):
        raise ValueError('Enter a price as a decimal string, e.g. "12.50".')
    return value


MonthText = Annotated[str, Stated(_month, pattern=MONTH_PATTERN)]
# The codes keyledger.billing.money accepts (legal tender today), stated as the document's enum.
Currency = Annotated[str, Stated(_currency, pattern=CURRENCY_PATTERN, enum=sorted(money.currencies()))]
PriceText = Annotated[str, StringConstraints(max_length=40), Stated(_price, pattern=PRICE_PATTERN)]
Code = Annotated[str, StringConstraints(max_length=32), NoNul]


class PriceListFilter(Schema):
    customer_id: Id | None = Field(None, description="Only the list of this customer")


class MonthQuery(Schema):
    month: MonthText | None = Field(
        None,
        description="The month whose prices `current` shows (YYYY-MM); this month by default",
    )


class PriceListIn(BodyIn):
    customer_id: Id = Field(description="An organisation directly below the token's organisation")
    currency: Currency = Field(
        description="The ISO 4217 code every price of the list is in, e.g. EUR; it cannot change later",
    )


class PriceIn(BodyIn):
    product: Code = Field(description="A product code from GET /products, e.g. spmsp")
    item: Code = Field(
        "",
        description="An edition code of a product priced per edition (spmsp: server), a job license "
        'type code of one priced per license (imagemanager: shadowstream), or "" for one priced per key (gre)',
    )
    month: MonthText = Field(
        description="The month the price applies from (YYYY-MM), until a later price of the same item",
    )
    price: PriceText = Field(
        description="A decimal string in the list's currency, with at most as many decimals as the "
        'currency has: "12.50" (EUR), "1500" (JPY)',
    )


def _is_own(obj: PriceList, context: dict[str, Any]) -> bool:
    # Only the token's own list has its issuer above the token: not the token's to know.
    return obj.customer_id == context["request"].auth.organisation.pk


class PriceListOut(Schema):
    id: int
    issuer_id: int | None = Field(
        description="The organisation that issues the list; null on the token's own list, whose "
        "issuer is above the token's reach"
    )
    issuer_name: str | None
    customer_id: int
    customer_name: str = Field(alias="customer.name")
    currency: str
    items_priced: int = Field(description="Items (product and item) with at least one price")
    created_at: datetime

    @staticmethod
    def resolve_issuer_id(obj: PriceList, context: dict[str, Any]) -> int | None:
        return None if _is_own(obj, context) else obj.issuer_id

    @staticmethod
    def resolve_issuer_name(obj: PriceList, context: dict[str, Any]) -> str | None:
        return None if _is_own(obj, context) else obj.issuer.name


class PriceOut(Schema):
    id: int
    product: str
    product_name: str
    item: str = Field(description='The edition or job license type code; "" per key')
    item_label: str
    month: str = Field(description="The month the price applies from (YYYY-MM)")
    price: str = Field(description="A decimal string in the list's currency")
    currency: str
    created_at: datetime


class HistoryPriceOut(PriceOut):
    status: str = Field(
        description="In the month shown: current (in force), scheduled (from a later month) or "
        "replaced (by a later price)"
    )


class CurrentPriceOut(Schema):
    product: str
    product_name: str
    item: str
    item_label: str
    pricing: str = Field(
        description="edition (per key, by edition), license (per license of the type the key holds) or key"
    )
    price: str | None = Field(description="The price in force in the month; null: not priced")
    since: str | None = Field(description="The month that price applies from (YYYY-MM)")
    next_price: str | None = Field(description="The item's next price, from a later month")
    next_month: str | None


class PriceListDetailOut(PriceListOut):
    month: str = Field(alias="shown_month", description="The month `current` is for (YYYY-MM)")
    current: list[CurrentPriceOut] = Field(
        alias="shown_current", description="Every item of the catalog with its price in the month"
    )
    history: list[HistoryPriceOut] = Field(
        alias="shown_history", description="Every price of the list, newest first for each item"
    )
