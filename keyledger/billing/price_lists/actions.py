"""Every change to price lists: a list is created once, with its currency; a price is added
from a month on and never edited (a change is a new price from a later month).

Access (may the actor's organisation issue this list? may its role keep prices?) is checked
by the caller through keyledger.access; these actions check the rules of the data itself.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.billing import money
from keyledger.billing.models import Price, PriceList, Statement
from keyledger.billing.months import Month
from keyledger.billing.price_lists.items import item_name, items_of
from keyledger.billing.pricing import pricing_mode
from keyledger.keys.models import Product
from keyledger.organisations.models import Organisation


def _write_unique[M](write: Callable[[], M], *, field: str, message: str) -> M:
    """Run a write guarded by a unique constraint. The callers check first; this turns the
    rare race between that check and the write into the same field error."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as exc:
        raise ValidationError({field: message}) from exc


def _second_list(customer: Organisation, existing: PriceList | None = None) -> str:
    currency = f" in {existing.currency}" if existing is not None else ""
    return f"{customer.name} already has a price list{currency}; add its prices there."


@transaction.atomic
def create_price_list(
    *, issuer: Organisation, customer: Organisation, currency: str, actor: Actor
) -> PriceList:
    """The list of what `issuer` charges `customer`, one of the organisations directly below it."""
    errors: dict[str, str] = {}
    try:
        currency = money.clean_currency(currency)
    except ValidationError as exc:
        errors.update({field: msgs[0] for field, msgs in exc.message_dict.items()})
    if customer.parent_id != issuer.pk:
        errors["customer"] = (
            f"{customer.name} is not directly below {issuer.name}: an organisation keeps price lists "
            "only for the organisations directly below it."
        )
    else:
        existing = PriceList.objects.filter(customer=customer).first()
        if existing is not None:
            errors["customer"] = _second_list(customer, existing)
    if errors:
        raise ValidationError(errors)
    price_list = _write_unique(
        lambda: PriceList.objects.create(
            issuer=issuer, customer=customer, currency=currency, created_by=actor.user
        ),
        field="customer",
        message=_second_list(customer),
    )
    record(
        actor=actor,
        action="price_list.create",
        organisation=customer,
        obj=price_list,
        changes={
            "issuer": [issuer.pk, issuer.name],
            "customer": [customer.pk, customer.name],
            "currency": currency,
        },
    )
    return price_list


def _product(product: Product | str) -> Product:
    if isinstance(product, Product):
        return product
    code = str(product or "").strip()
    # A NUL cannot be in a code, and PostgreSQL refuses it in a query.
    found = Product.objects.filter(code=code).first() if "\x00" not in code else None
    if found is None:
        raise ValidationError({"product": "No such product; choose one of the catalog (GET /products)."})
    return found


def _item(product: Product, item: str | None) -> str:
    item = (item or "").strip()
    items = items_of(product)
    if any(i.code == item for i in items):
        return item
    if pricing_mode(product) == "key":
        raise ValidationError({"item": f"{product.name} has one price per key: leave the item empty."})
    what = "a job license type" if pricing_mode(product) == "license" else "an edition"
    choices = ", ".join(f"{i.code} ({i.label})" for i in items)
    if not item:
        raise ValidationError({"item": f"Choose {what} of {product.name}: {choices}."})
    raise ValidationError({"item": f"{product.name} has no item “{item}”; choose {what}: {choices}."})


def _price_text(price: str | Decimal | int) -> str:
    if isinstance(price, Decimal):
        # Not str(): Decimal("1E+2") must be read as 100, not refused as "not a number".
        return format(price, "f") if price.is_finite() else str(price)
    return str(price) if price is not None else ""


def _month_error(price_list: PriceList, product: Product, item: str, month: Month) -> str | None:
    same_item = Price.objects.filter(price_list=price_list, product=product, item=item)
    taken = same_item.filter(valid_from=month.first_day).first()
    if taken is not None:
        return (
            f"{item_name(product, item)} already has a price from {month.label} "
            f"({money.format_display(taken.unit_minor, price_list.currency)}): overlapping price period. "
            "Prices are never edited; a change is a new price from a later month."
        )
    # The new price applies from `month` until the item's next price: no final month in that
    # stretch may be priced differently from what its statement says.
    finals = Statement.objects.filter(
        issuer_id=price_list.issuer_id,
        customer_id=price_list.customer_id,
        status=Statement.Status.FINAL,
        month__gte=month.first_day,
    )
    later = same_item.filter(valid_from__gt=month.first_day).order_by("valid_from").first()
    if later is not None:
        finals = finals.filter(month__lt=later.valid_from)
    final = finals.order_by("month").values_list("month", flat=True).first()
    if final is not None:
        return (
            f"{Month.of(final).label} is final for {price_list.customer.name}; "
            "a correction goes on a later statement."
        )
    return None


@transaction.atomic
def add_price(
    *,
    price_list: PriceList,
    product: Product | str,
    item: str,
    month: Month,
    price: str | Decimal | int,
    actor: Actor,
) -> Price:
    """A price of one item (an edition, a job license type, or "" per key) from the first day
    of `month` on, until a later price of the same item. `product` is a Product or its code;
    `price` is a decimal amount in the list's currency ("12.50")."""
    # The list's row lock makes two adds of the same item and month wait for each other.
    price_list = PriceList.objects.select_for_update().select_related("customer").get(pk=price_list.pk)
    errors: dict[str, str] = {}
    chosen: tuple[Product, str] | None = None
    try:
        found = _product(product)
        chosen = (found, _item(found, item))
    except ValidationError as exc:
        errors.update({field: msgs[0] for field, msgs in exc.message_dict.items()})
    try:
        unit_minor = money.parse_price(_price_text(price), price_list.currency)
    except ValidationError as exc:
        errors.update({field: msgs[0] for field, msgs in exc.message_dict.items()})
    if not isinstance(month, Month):
        errors["month"] = "Enter a month as YYYY-MM, e.g. 2026-11."
    elif chosen is not None and (message := _month_error(price_list, *chosen, month)) is not None:
        errors["month"] = message
    if errors or chosen is None:
        raise ValidationError(errors)
    product, item = chosen
    overlap = f"{item_name(product, item)} already has a price from {month.label}: overlapping price period."
    new = _write_unique(
        lambda: Price.objects.create(
            price_list=price_list,
            product=product,
            item=item,
            valid_from=month.first_day,
            unit_minor=unit_minor,
            created_by=actor.user,
        ),
        field="month",
        message=overlap,
    )
    record(
        actor=actor,
        action="price.add",
        organisation=price_list.customer,
        obj=new,
        changes={
            "price_list": price_list.pk,
            "product": product.code,
            "item": item,
            "from": str(month),
            "price": money.format_plain(unit_minor, price_list.currency),
            "currency": price_list.currency,
        },
    )
    return new
