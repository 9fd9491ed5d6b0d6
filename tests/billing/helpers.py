"""Key histories at explicit times, written through the real actions and call home."""

from __future__ import annotations

from datetime import datetime, timedelta

from keyledger.audit.actor import Actor
from keyledger.customers.models import Account
from keyledger.keys import actions
from keyledger.keys.models import ProductKey
from tests.keys.factories import call, product, reload

MINUTE = timedelta(minutes=1)


def actor() -> Actor:
    return Actor.system()


def sourced_at(account: Account, at: datetime, *, code: str = "spmsp", site=None) -> ProductKey:
    fields = {"exchange_server_name": "EX01", "exchange_server_version": "2019"} if code == "gre" else {}
    (key,) = actions.source_keys(
        product=product(code), quantity=1, account=account, site=site, fields=fields, actor=actor(), now=at
    )
    return key


def activated_at(
    account: Account, at: datetime, *, code: str = "spmsp", site=None, **call_args
) -> ProductKey:
    key = sourced_at(account, at - timedelta(hours=1), code=code, site=site)
    call(key, now=at, **call_args)
    return reload(key)


def deactivated_at(key: ProductKey, at: datetime) -> ProductKey:
    """Deactivate clicked a minute before the call home that makes it final at `at` (the
    product called home just before, so it is inside its offline lease)."""
    call(key, now=at - 2 * MINUTE)
    actions.request_deactivation(key=key, actor=actor(), now=at - MINUTE)
    call(key, now=at)
    return reload(key)


def reactivated_at(key: ProductKey, at: datetime) -> ProductKey:
    actions.request_reactivation(key=key, actor=actor(), now=at - MINUTE)
    call(key, now=at)
    return reload(key)
