"""A synthetic channel with a realistic key history, written set-based (INSERT … SELECT over
a series of numbers: generate_series on PostgreSQL, a recursive CTE on SQLite).

One vendor, its distributors, their MSPs with accounts and sites, and price lists
(bench.billing.channel); product keys with the histories of bench.billing.histories, the
KeyEvent rows those histories imply and the ActiveSpan rows the state machine would have
kept (bench.billing.keyrows). The first MSP holds `big_msp_keys` keys (the report pages are
measured on it), the others share the rest.

Every value is a function of the row number, so a dataset of a given scale and `now` is
the same every time. bench.billing.invariants checks it before anything is measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bench.billing import channel, keyrows
from bench.billing import sqlbits as q
from keyledger.billing.models import ActiveSpan, Price, PriceList
from keyledger.billing.months import Month
from keyledger.customers.models import Account, Site
from keyledger.keys.models import KeyEvent, Product, ProductKey
from keyledger.organisations.models import Organisation


@dataclass(frozen=True)
class Scale:
    keys: int = 1_000_000
    msps: int = 5_000
    distributors: int = 50
    big_msp_keys: int = 10_000
    accounts_per_msp: int = 10
    sites_per_account: int = 2

    def __post_init__(self) -> None:
        if not (self.keys >= 1 and 1 <= self.distributors <= self.msps and self.big_msp_keys >= 1):
            raise ValueError("At least one key, one distributor and as many MSPs as distributors.")
        if self.msps > 1 and self.big_msp_keys >= self.keys:
            raise ValueError("The big MSP holds fewer keys than there are.")


@dataclass
class Dataset:
    scale: Scale
    now: datetime
    month: Month  # the month the bench closes: the last one that has ended
    vendor_id: int
    first_distributor_id: int
    first_msp_id: int  # the big MSP
    products: dict[str, int]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def big_msp_id(self) -> int:
        return self.first_msp_id


def generate(scale: Scale, *, now: datetime) -> Dataset:
    now = now.replace(microsecond=0)
    month = Month.of(now).previous
    products = dict(Product.objects.values_list("code", "id"))
    org = q.next_id(Organisation)
    data = Dataset(
        scale=scale,
        now=now,
        month=month,
        vendor_id=org,
        first_distributor_id=org + 1,
        first_msp_id=org + 1 + scale.distributors,
        products=products,
    )
    steps = [
        ("organisations", channel.organisations),
        ("accounts and sites", channel.accounts_and_sites),
        ("plan", keyrows.plan),
        ("product keys", keyrows.keys),
        ("key events", keyrows.events),
        ("active spans", keyrows.spans),
        ("price lists", channel.prices),
    ]
    with q.loading(*(m._meta.db_table for m in (ProductKey, KeyEvent, ActiveSpan))) as build_indexes:
        for name, step in steps:
            with q.stopwatch() as took:
                data.counts[name] = step(data)
            data.seconds[name] = took[0]
        with q.stopwatch() as took:
            build_indexes()
        data.seconds["indexes"] = took[0]
    q.reset_sequences(Organisation, Account, Site, ProductKey, KeyEvent, ActiveSpan, PriceList, Price)
    with q.stopwatch() as took:
        q.analyze()
    data.seconds["analyze"] = took[0]
    return data
