"""Keys for tests, made through the real actions and the real call-home logic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keyledger.audit.actor import Actor, Channel
from keyledger.customers.models import Account, Site
from keyledger.keys import actions
from keyledger.keys.call_home import Outcome, Report, call_home
from keyledger.keys.models import KeyEvent, Product, ProductKey

MACHINE = {"name": "FS01", "hardware_id": "HW-0001", "software_id": "SW-0001"}
OTHER_MACHINE = {"name": "FS02", "hardware_id": "HW-0002", "software_id": "SW-0002"}
PRODUCT_ACTOR = Actor(channel=Channel.PRODUCT, ip="203.0.113.7")


def product(code: str) -> Product:
    return Product.objects.get(code=code)


def source(
    *,
    account: Account,
    code: str = "spmsp",
    quantity: int = 1,
    site: Site | None = None,
    fields: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> list[ProductKey]:
    if fields is None and code == "gre":
        fields = {"exchange_server_name": "EX01", "exchange_server_version": "2019"}
    return actions.source_keys(
        product=product(code),
        quantity=quantity,
        account=account,
        site=site,
        fields=fields,
        actor=actor or Actor.system(),
    )


def report(key: ProductKey, *, machine: dict[str, str] = MACHINE, **overrides: Any) -> Report:
    code = key.product.code
    values: dict[str, Any] = {
        "key": key.key,
        "product": code,
        "machine_name": machine["name"],
        "hardware_id": machine["hardware_id"],
        "software_id": machine["software_id"],
        "nonce": "n-1",
        "edition": "server" if code == "spmsp" else None,
        "version": "5.2.7",
        "os": "Windows Server 2019",
    }
    values.update(overrides)
    return Report(**values)


def call(
    key: ProductKey, *, machine: dict[str, str] = MACHINE, now: datetime | None = None, **overrides: Any
) -> Outcome:
    return call_home(report=report(key, machine=machine, **overrides), actor=PRODUCT_ACTOR, now=now)


def reload(key: ProductKey) -> ProductKey:
    return ProductKey.objects.select_related("product", "msp").get(pk=key.pk)


def replayed_state(key: ProductKey) -> str:
    """The state the key's events lead to; each event must start where the previous ended."""
    state = ""
    for event in KeyEvent.objects.filter(key=key).order_by("at", "id"):
        assert event.old_state == state, f"event {event} does not follow {state!r}"
        state = event.new_state
    return state


def activated(*, account: Account, code: str = "spmsp", **kwargs: Any) -> ProductKey:
    (key,) = source(account=account, code=code)
    call(key, **kwargs)
    return reload(key)
