"""The search bench's channel, written set-based: a vendor, its distributors, their MSPs,
ten accounts of each MSP with two sites each, and product keys spread over the MSPs.

The keys are real keys (check symbol and all) from a fixed seed; every other value is a
function of the row number, so a dataset of a given scale is the same every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from bench.billing import sqlbits as q
from keyledger.customers.models import Account, Site
from keyledger.keys.keyformat import ALPHABET, check_symbol, format_key
from keyledger.keys.models import Product, ProductKey
from keyledger.organisations.models import Organisation

ACCOUNTS_PER_MSP = 10
SITES_PER_ACCOUNT = 2


@dataclass(frozen=True)
class World:
    keys: int
    msps: int
    distributors: int
    first_distributor: int
    first_msp: int
    account_base: int
    site_base: int
    target: int  # the row number of a key of the first MSP, activated on a machine


def build(keys: int, msps: int, distributors: int) -> World:
    """The channel, written set-based: a vendor, its distributors, their MSPs, ten accounts
    of each MSP with two sites each, and the keys spread over the MSPs (seven in ten on a
    machine named WS-<row>, half of them at a site). The keys themselves are real keys."""
    vendor = q.next_id(Organisation)
    world = World(
        keys=keys,
        msps=msps,
        distributors=distributors,
        first_distributor=vendor + 1,
        first_msp=vendor + 1 + distributors,
        account_base=q.next_id(Account),
        site_base=q.next_id(Site),
        # The last such key: no other machine name starts with its name.
        target=next(n for n in range((keys - 1) // msps * msps, -1, -msps) if n % 10 < 7),
    )
    org = {"portal_access": q.text(Organisation.PortalAccess.ACTIVE)}
    q.insert(
        Organisation,
        {
            "id": str(vendor),
            "kind": q.text("vendor"),
            "name": q.text("Bench Vendor"),
            "path": q.text(f"/{vendor}/"),
            **org,
        },
        f"FROM {q.numbers(1)} x",
    )
    q.insert(
        Organisation,
        {
            "id": f"{world.first_distributor} + x.n",
            "kind": q.text("distributor"),
            "parent_id": str(vendor),
            "name": "'Bench Distributor ' || x.n",
            "path": f"'/{vendor}/' || ({world.first_distributor} + x.n) || '/'",
            **org,
        },
        f"FROM {q.numbers(distributors)} x",
    )
    parent = f"({world.first_distributor} + x.n % {distributors})"
    q.insert(
        Organisation,
        {
            "id": f"{world.first_msp} + x.n",
            "kind": q.text("msp"),
            "parent_id": parent,
            "name": "'Bench MSP ' || x.n",
            "path": f"'/{vendor}/' || {parent} || '/' || ({world.first_msp} + x.n) || '/'",
            **org,
        },
        f"FROM {q.numbers(msps)} x",
    )
    q.insert(
        Account,
        {
            "id": f"{world.account_base} + x.n",
            "msp_id": f"{world.first_msp} + x.n / {ACCOUNTS_PER_MSP}",
            "name": "'Customer ' || x.n",
        },
        f"FROM {q.numbers(msps * ACCOUNTS_PER_MSP)} x",
    )
    q.insert(
        Site,
        {
            "id": f"{world.site_base} + x.n",
            "account_id": f"{world.account_base} + x.n / {SITES_PER_ACCOUNT}",
            "name": "'Branch ' || x.n",
        },
        f"FROM {q.numbers(msps * ACCOUNTS_PER_MSP * SITES_PER_ACCOUNT)} x",
    )
    # Real keys (a check symbol is a SHA-256: no SQL writes one on both databases), made
    # here from a fixed seed and joined to the rest of each row in SQL.
    symbols = random.Random(20261205)
    bodies = ("".join(symbols.choices(ALPHABET, k=24)) for _ in range(keys))
    q.execute("CREATE TABLE bench_search_key (n integer PRIMARY KEY, key varchar(29) NOT NULL)")
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_search_key (n, key) VALUES (%s, %s)",
            [(n, format_key(body + check_symbol(body))) for n, body in enumerate(bodies)],
        )
    msp, on = f"x.n % {msps}", "x.n % 10 < 7"
    account = f"{world.account_base} + ({msp}) * {ACCOUNTS_PER_MSP} + (x.n / {msps}) % {ACCOUNTS_PER_MSP}"
    site_of = f"{world.site_base} + (({msp}) * {ACCOUNTS_PER_MSP} + (x.n / {msps}) % {ACCOUNTS_PER_MSP}) * {SITES_PER_ACCOUNT}"
    started = q.epoch(timezone.now())
    now, soon = q.at(str(started)), q.at(str(started + 72 * 3600))

    def when_on(value: str) -> str:
        return f"CASE WHEN {on} THEN {value} END"

    with q.loading(ProductKey._meta.db_table) as build_indexes:
        q.insert(
            ProductKey,
            {
                "key": "x.key",
                "product_id": str(Product.objects.get(code="spmsp").pk),
                "msp_id": f"{world.first_msp} + {msp}",
                "account_id": account,
                "site_id": f"CASE WHEN x.n % 2 = 0 THEN {site_of} END",
                "state": f"CASE WHEN {on} THEN 'ok' ELSE 'unused' END",
                "machine_name": when_on("'WS-' || x.n"),
                "machine_hardware_id": when_on("'HW-' || x.n"),
                "machine_software_id": when_on("'SW-' || x.n"),
                "edition": f"CASE WHEN {on} THEN 'server' ELSE '' END",
                "activated_at": when_on(now),
                "last_call_home_at": when_on(now),
                "critical_due_at": when_on(soon),
                "sweep_after": when_on(soon),
            },
            "FROM bench_search_key x",
        )
        build_indexes()
    q.execute("DROP TABLE bench_search_key")
    q.reset_sequences(Organisation, Account, Site, ProductKey)
    q.analyze()
    return world
