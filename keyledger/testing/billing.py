"""Billing in tests: price lists and prices in one line each, and the fixture that lets a
transactional test end with final statements in the database.

A transactional test (live server, real concurrent connections) ends by deleting every row;
on SQLite that is a DELETE per table, which the triggers of migration 0002 refuse for a
final statement. `final_statements_removable` drops the triggers at teardown, deletes the
billing rows and puts the triggers back, with the migration's own SQL.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from keyledger.audit.actor import Actor, Channel
from keyledger.billing.models import Price, PriceList
from keyledger.billing.months import Month
from keyledger.customers.models import Account, Site
from keyledger.keys import actions
from keyledger.keys.call_home import Report, call_home
from keyledger.keys.models import Product, ProductKey
from keyledger.organisations.models import Organisation
from keyledger.testing.tree import Tree

TRIGGERS = "keyledger.billing.migrations.0002_final_statements_never_change"
BILLING_TABLES = (
    "billing_statementitem",
    "billing_statementline",
    "billing_statement",
    "billing_statementcounter",
)


def price_list(customer: Organisation, currency: str = "EUR") -> PriceList:
    """The customer's price list (issued by its parent), created if it has none."""
    return PriceList.objects.get_or_create(
        customer=customer, defaults={"issuer": customer.parent, "currency": currency}
    )[0]


def set_price(
    customer: Organisation, code: str, item: str, minor: int, *, month: Month | date, currency: str = "EUR"
) -> Price:
    """A price of the customer's list from `month` on, in minor units (2500 = 25.00 EUR)."""
    first = month.first_day if isinstance(month, Month) else month
    return Price.objects.create(
        price_list=price_list(customer, currency),
        product=Product.objects.get(code=code),
        item=item,
        valid_from=first,
        unit_minor=minor,
    )


def remove_billing_rows() -> None:
    """Delete every statement, final ones too, leaving the triggers as they were."""
    migration = importlib.import_module(TRIGGERS)
    with connection.cursor() as cursor:
        for sql in migration.statements(connection.vendor, create=False):
            cursor.execute(sql)
        try:
            for table in BILLING_TABLES:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed table names)
        finally:
            for sql in migration.statements(connection.vendor, create=True):
                cursor.execute(sql)


@pytest.fixture
def final_statements_removable(transactional_db):
    """For transactional tests that make statements final: their rows go before the flush."""
    yield
    remove_billing_rows()


def active_key(
    account: Account,
    at: datetime,
    *,
    code: str = "spmsp",
    edition: str | None = "server",
    fields: dict[str, Any] | None = None,
    site: Site | None = None,
) -> ProductKey:
    """A key sourced an hour before `at` and activated at `at` by its product calling home."""
    if code == "gre" and fields is None:
        fields = {"exchange_server_name": "EX01", "exchange_server_version": "2019"}
    (key,) = actions.source_keys(
        product=Product.objects.get(code=code),
        quantity=1,
        account=account,
        site=site,
        fields=fields or {},
        actor=Actor.system(),
        now=at - timedelta(hours=1),
    )
    return called_home(key, at, edition=edition)


def called_home(key: ProductKey, at: datetime, *, edition: str | None = "server") -> ProductKey:
    """The key's product calls home at `at` (from its own machine)."""
    code = key.product.code
    call_home(
        report=Report(
            key=key.key,
            product=code,
            machine_name=f"M-{key.pk}",
            hardware_id=f"HW-{key.pk}",
            software_id=f"SW-{key.pk}",
            nonce="n",
            edition=edition if code == "spmsp" else None,
        ),
        actor=Actor(channel=Channel.PRODUCT),
        now=at,
    )
    return ProductKey.objects.select_related("product").get(pk=key.pk)


def lapsing_key(account: Account, *, last_call: datetime, actor: Actor) -> ProductKey:
    """An active key whose product last called home at `last_call`, with Deactivate clicked an
    hour later: the deactivation becomes final at the lease's end, when the sweep writes it."""
    key = active_key(account, last_call - timedelta(days=9))
    called_home(key, last_call)
    return actions.request_deactivation(key=key, actor=actor, now=last_call + timedelta(hours=1))


NOVEMBER = Month(2026, 11)
OCTOBER_FIRST = datetime(2026, 10, 1, 9, tzinfo=UTC)
# A last call home whose lease (30 days) ends on 9 November, 09:00: 9 active days in November.
LAST_CALL = datetime(2026, 10, 10, 9, tzinfo=UTC)


@dataclass
class November:
    """Keys and prices of November 2026 (a 30-day month) in the shared tree:

    Acme IT (Northwind's MSP): a Server key, a Desktop key activated on the 20th (11 days, not
    billable), a Virtual Machine key without a price, an ImageManager key with 5 ShadowStream
    and 2 HeadStart licenses, a GRE key. Bluebird: a Server key. Dingo (Southgate's MSP, no
    price list anywhere above it): a Server key. Cobalt: nothing.

    Acme pays 25.00 a Server, 20.00 a Desktop, 1.50 a ShadowStream license, 0.75 a HeadStart
    license, 40.00 a GRE key (EUR); Bluebird 26.00 a Server; Northwind pays the vendor 18.00 a
    Server, 1.00 and 0.50 the licenses, 30.00 a GRE key."""

    server: ProductKey
    desktop: ProductKey
    vm: ProductKey
    imagemanager: ProductKey
    gre: ProductKey
    bluebird: ProductKey
    dingo: ProductKey


def november(tree: Tree) -> November:
    start = OCTOBER_FIRST
    world = November(
        server=active_key(tree.account_a1, start, site=tree.site_a1),
        desktop=active_key(tree.account_a1, datetime(2026, 11, 20, 9, tzinfo=UTC), edition="desktop"),
        vm=active_key(tree.account_a1, start, edition="vm"),
        imagemanager=active_key(
            tree.account_a1,
            start,
            code="imagemanager",
            fields={"intelligentftp": 0, "shadowstream": 5, "headstart": 2},
        ),
        gre=active_key(tree.account_a1, start, code="gre"),
        bluebird=active_key(tree.account_a2, start),
        dingo=active_key(tree.account_b1, start),
    )
    since = Month(2026, 1)
    for code, item, minor in [
        ("spmsp", "server", 2500),
        ("spmsp", "desktop", 2000),
        ("imagemanager", "shadowstream", 150),
        ("imagemanager", "headstart", 75),
        ("gre", "", 4000),
    ]:
        set_price(tree.msp_a1, code, item, minor, month=since)
    set_price(tree.msp_a2, "spmsp", "server", 2600, month=since)
    for code, item, minor in [
        ("spmsp", "server", 1800),
        ("imagemanager", "shadowstream", 100),
        ("imagemanager", "headstart", 50),
        ("gre", "", 3000),
    ]:
        set_price(tree.dist_a, code, item, minor, month=since)
    return world
