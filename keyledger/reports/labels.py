"""The words a report shows for codes, computed in SQL so that sorting by them sorts by what
people read: an edition's label from the catalog ("Server" for `server`), a key's status
label as of now (ProductKey.state_at: a silent OK key is Critical, a pending deactivation
past its offline lease is Deactivated)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from keyledger.billing.sql import Sql, dt
from keyledger.keys.models import Product, ProductKey

State = ProductKey.State


def edition_label(products: Iterable[Product], *, product: str, edition: str) -> Sql:
    """SQL for the label of the edition `edition` of product `product` (SQL columns); the
    code itself when the catalog does not list it."""
    whens: list[str] = []
    params: list = []
    for p in products:
        for e in p.editions:
            whens.append(f"WHEN {product} = %s AND {edition} = %s THEN %s")
            params += [p.pk, str(e["code"]), str(e["label"])]
    if not whens:
        return Sql(f"COALESCE({edition}, '')")
    return Sql(f"CASE {' '.join(whens)} ELSE COALESCE({edition}, '') END", params)


def status_label(*, state: str, due: str, now: datetime) -> Sql:
    """SQL for the status label of a key as of `now`, given its `state` and `critical_due_at`
    columns: what ProductKey.status_label_at says, without a query per key."""
    labels = dict(State.choices)
    whens = [
        f"WHEN {state} = %s AND {due} < %s THEN %s",
        f"WHEN {state} = %s AND {due} < %s THEN %s",
    ]
    params: list = [
        State.OK,
        dt(now),
        labels[State.CRITICAL],
        State.DEACTIVATION_REQUESTED,
        dt(now),
        labels[State.DEACTIVATED],
    ]
    for code, label in State.choices:
        whens.append(f"WHEN {state} = %s THEN %s")
        params += [code, label]
    return Sql(f"CASE {' '.join(whens)} ELSE {state} END", params)


def short_product_name(name: str) -> str:
    """What the seed's readers call a product on a crowded page: "SP-MSP" for
    "ShadowProtect for Managed Service Providers (SP-MSP)"; the name when it has no such part."""
    match = re.search(r"\(([^()]+)\)\s*$", name or "")
    return match.group(1) if match else name
