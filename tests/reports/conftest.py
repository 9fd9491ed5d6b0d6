"""A small history of keys around November 2026, seen from 10 December 2026 (the running
month): periods that end, restart and stay open, on both sides of the 14-day line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine

from keyledger.billing.models import Price, PriceList
from keyledger.billing.months import Month
from keyledger.keys.models import ProductKey
from keyledger.testing.tree import Tree
from tests.billing.helpers import activated_at, deactivated_at, reactivated_at, sourced_at
from tests.keys.factories import call, product, reload

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
NOVEMBER = Month(2026, 11)
DECEMBER = Month(2026, 12)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class World:
    tree: Tree
    all_month: ProductKey  # Acme, server, active since October: billable in November
    short: ProductKey  # Acme, desktop, from 18 Nov 00:00: 13 days, not billable
    twice: ProductKey  # Acme, at its site, deactivated 5 Nov, reactivated 20 Nov: 16 days
    image: ProductKey  # Bluebird, ImageManager with job licenses, from 2 Nov
    december: ProductKey  # Acme, from 1 Dec: 10 days so far, billable from 15 Dec
    late: ProductKey  # Acme, from 8 Dec: 3 days so far, billable from 22 Dec
    dingo: ProductKey  # Southgate's MSP, GRE
    unused: ProductKey  # Acme, never activated


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def world(tree, frozen) -> World:
    return build_world(tree)


def build_world(t: Tree) -> World:
    """The keys of the World, written at their times (call it with the clock at NOW)."""
    all_month = activated_at(t.account_a1, utc(2026, 10, 1, 9), edition="server")
    for day in (2, 12, 22):
        call(all_month, now=utc(2026, 11, day, 9), edition="server")
    call(all_month, now=utc(2026, 12, 9, 9), edition="server", version="5.3.0")
    short = activated_at(t.account_a1, utc(2026, 11, 18), edition="desktop")
    call(short, now=utc(2026, 12, 9, 23), edition="desktop")
    twice = activated_at(t.account_a1, utc(2026, 10, 20), site=t.site_a1, edition="server")
    twice = deactivated_at(twice, utc(2026, 11, 5, 12))
    twice = reactivated_at(twice, utc(2026, 11, 20, 12))
    call(twice, now=utc(2026, 12, 10, 8), edition="server")
    image = sourced_at(t.account_a2, utc(2026, 11, 1), code="imagemanager")
    image.fields = {"intelligentftp": 0, "shadowstream": 3, "headstart": 1}
    image.save(update_fields=["fields"])
    call(image, now=utc(2026, 11, 2, 10))
    call(image, now=utc(2026, 12, 10, 10))
    december = activated_at(t.account_a1, utc(2026, 12, 1, 0, 30), edition="vm")
    call(december, now=utc(2026, 12, 10, 11), edition="vm")
    late = activated_at(t.account_a1, utc(2026, 12, 8, 6), edition="sbs")
    call(late, now=utc(2026, 12, 10, 6), edition="sbs")
    dingo = activated_at(t.account_b1, utc(2026, 11, 3), code="gre")
    unused = sourced_at(t.account_a1, utc(2026, 11, 1))
    return World(
        tree=t,
        all_month=reload(all_month),
        short=reload(short),
        twice=reload(twice),
        image=reload(image),
        december=reload(december),
        late=reload(late),
        dingo=reload(dingo),
        unused=reload(unused),
    )


JANUARY = Month(2026, 1)


def price(price_list: PriceList, code: str, item: str, minor: int, month: Month = JANUARY) -> Price:
    return Price.objects.create(
        price_list=price_list, product=product(code), item=item, valid_from=month.first_day, unit_minor=minor
    )


@pytest.fixture
def prices(world) -> dict[str, PriceList]:
    return build_prices(world)


def build_prices(world: World) -> dict[str, PriceList]:
    t = world.tree
    lists = {
        "acme": PriceList.objects.create(issuer=t.dist_a, customer=t.msp_a1, currency="EUR"),
        "bluebird": PriceList.objects.create(issuer=t.dist_a, customer=t.msp_a2, currency="GBP"),
        "northwind": PriceList.objects.create(issuer=t.vendor, customer=t.dist_a, currency="EUR"),
    }
    price(lists["acme"], "spmsp", "server", 2500)
    price(lists["acme"], "spmsp", "vm", 1999)
    # No desktop price for Acme: its desktop key shows no amount.
    price(lists["bluebird"], "imagemanager", "shadowstream", 150)
    price(lists["bluebird"], "imagemanager", "headstart", 75)
    price(lists["northwind"], "spmsp", "server", 1800)
    price(lists["northwind"], "spmsp", "desktop", 900)
    price(lists["northwind"], "imagemanager", "shadowstream", 100)
    price(lists["northwind"], "imagemanager", "headstart", 50)
    return lists
