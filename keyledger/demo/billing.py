"""The demo's money: price lists (the vendor's to each distributor, each distributor's to its
MSPs), final statements for the months before last, and drafts for the month that ended last,
written through the same actions the portal and the worker use, after the keys' history.

Last month's drafts are left for someone to review and Finalise (`make demo` runs the worker
with a grace period long enough to leave them so; see the README)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from keyledger.audit.actor import Actor, Channel
from keyledger.billing import statements
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.price_lists import actions as prices
from keyledger.organisations.models import Organisation, User

# Prices per item: SP-MSP per edition, ImageManager per job license, GRE per key ("").
PRICES = {
    "low": {
        ("spmsp", "server"): "18.00",
        ("spmsp", "sbs"): "12.00",
        ("spmsp", "desktop"): "6.00",
        ("spmsp", "vm"): "9.00",
        ("imagemanager", "intelligentftp"): "1.00",
        ("imagemanager", "shadowstream"): "1.50",
        ("imagemanager", "headstart"): "2.00",
        ("gre", ""): "15.00",
    },
    "msp": {
        ("spmsp", "server"): "25.00",
        ("spmsp", "sbs"): "17.00",
        ("spmsp", "desktop"): "9.00",
        ("spmsp", "vm"): "13.00",
        ("imagemanager", "intelligentftp"): "1.50",
        ("imagemanager", "shadowstream"): "2.25",
        ("imagemanager", "headstart"): "3.00",
        ("gre", ""): "22.00",
    },
}


@dataclass(frozen=True)
class PriceListSpec:
    issuer: str  # an organisation's name; "" for the vendor
    customer: str
    currency: str
    prices: str  # a key of PRICES
    # Items left without a price, so the reports show lines without an amount.
    unpriced: tuple[tuple[str, str], ...] = ()
    # (product, item, price) from the running month on: a price change, with its history.
    change: tuple[str, str, str] | None = None


PRICE_LISTS = (
    PriceListSpec("", "Northwind Distribution", "EUR", "low"),
    PriceListSpec(
        "Northwind Distribution", "Acme IT Services", "EUR", "msp", change=("spmsp", "server", "27.50")
    ),
    PriceListSpec("Northwind Distribution", "Bluebird Managed IT", "EUR", "msp", unpriced=(("spmsp", "vm"),)),
    PriceListSpec("", "Southgate Supply", "AUD", "low"),
    PriceListSpec("Southgate Supply", "Dingo Networks", "AUD", "msp"),
    PriceListSpec("Southgate Supply", "Emu Computing", "AUD", "msp"),
)


def _admin_of(organisation: Organisation) -> User:
    user = organisation.users.filter(role="admin", is_active=True).order_by("pk").first()
    assert user is not None, f"{organisation.name} has an admin in the demo"
    return user


def load(*, vendor: Organisation, staff: User, now: datetime, first_month: Month) -> None:
    """Price lists from `first_month` on, final statements up to the month before last, and
    drafts for the month that ended last."""
    organisations = {o.name: o for o in Organisation.objects.all()}
    for spec in PRICE_LISTS:
        issuer = organisations[spec.issuer] if spec.issuer else vendor
        actor = Actor.system(Channel.CLI, user=staff if issuer == vendor else _admin_of(issuer))
        price_list = prices.create_price_list(
            issuer=issuer, customer=organisations[spec.customer], currency=spec.currency, actor=actor
        )
        for (product, item), price in PRICES[spec.prices].items():
            if (product, item) not in spec.unpriced:
                prices.add_price(
                    price_list=price_list,
                    product=product,
                    item=item,
                    month=first_month,
                    price=price,
                    actor=actor,
                )
        if spec.change is not None:
            product, item, price = spec.change
            prices.add_price(
                price_list=price_list,
                product=product,
                item=item,
                month=Month.of(now),
                price=price,
                actor=actor,
            )
    last = Month.of(now).previous
    month = first_month
    while month < last:
        statements.close_month(month=month, now=now)
        # Each issuer finalised its statements on the last day of the grace period.
        finalised_at = min(now, month.end + timedelta(days=3))
        for statement in (
            Statement.objects.filter(month=month.first_day).select_related("issuer").order_by("pk")
        ):
            user = staff if statement.issuer_id == vendor.pk else _admin_of(statement.issuer)
            statements.finalise(
                statement=statement, actor=Actor.system(Channel.CLI, user=user), now=finalised_at
            )
        month = month.next
    statements.close_month(month=last, now=now)
