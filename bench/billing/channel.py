"""The channel of the synthetic dataset: the vendor, its distributors, their MSPs (the
first one the big MSP), each MSP's accounts and sites, and the price lists."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bench.billing import sqlbits as q
from keyledger.billing.models import Price, PriceList
from keyledger.customers.models import Account, Site
from keyledger.organisations.models import Organisation

if TYPE_CHECKING:
    from bench.billing.data import Dataset


def organisations(data: Dataset) -> int:
    s, v = data.scale, data.vendor_id
    written = q.insert(
        Organisation,
        {
            "id": str(v),
            "kind": q.text(Organisation.Kind.VENDOR),
            "name": q.text("Bench Vendor"),
            "path": q.text(f"/{v}/"),
            "portal_access": q.text(Organisation.PortalAccess.ACTIVE),
            "statement_prefix": q.text("BV"),
        },
        f"FROM {q.numbers(1)} x",
    )
    written += q.insert(
        Organisation,
        {
            "id": f"{data.first_distributor_id} + x.n",
            "kind": q.text(Organisation.Kind.DISTRIBUTOR),
            "name": "'Bench Distributor ' || x.n",
            "parent_id": str(v),
            "path": f"'/{v}/' || ({data.first_distributor_id} + x.n) || '/'",
            "portal_access": q.text(Organisation.PortalAccess.ACTIVE),
            "statement_prefix": "'D' || x.n",
        },
        f"FROM {q.numbers(s.distributors)} x",
    )
    parent = f"({data.first_distributor_id} + x.n % {s.distributors})"
    written += q.insert(
        Organisation,
        {
            "id": f"{data.first_msp_id} + x.n",
            "kind": q.text(Organisation.Kind.MSP),
            "name": "'Bench MSP ' || x.n",
            "parent_id": parent,
            "path": f"'/{v}/' || {parent} || '/' || ({data.first_msp_id} + x.n) || '/'",
            "portal_access": q.text(Organisation.PortalAccess.ACTIVE),
        },
        f"FROM {q.numbers(s.msps)} x",
    )
    return written


def accounts_and_sites(data: Dataset) -> int:
    s = data.scale
    data.counts["account base"] = account = q.next_id(Account)
    data.counts["site base"] = site = q.next_id(Site)
    written = q.insert(
        Account,
        {
            "id": f"{account} + x.n",
            "msp_id": f"{data.first_msp_id} + x.n / {s.accounts_per_msp}",
            "name": f"'Account ' || (x.n % {s.accounts_per_msp})",
        },
        f"FROM {q.numbers(s.msps * s.accounts_per_msp)} x",
    )
    written += q.insert(
        Site,
        {
            "id": f"{site} + x.n",
            "account_id": f"{account} + x.n / {s.sites_per_account}",
            "name": f"'Site ' || (x.n % {s.sites_per_account})",
        },
        f"FROM {q.numbers(s.msps * s.accounts_per_msp * s.sites_per_account)} x",
    )
    return written


def prices(data: Dataset) -> int:
    """A list from the vendor to every distributor (EUR; every fifth in AUD, its MSPs too) and
    from each distributor to its MSPs but every 50th (their keys are billed unpriced). Prices
    apply from three months before the closed month; SP-MSP Server costs more from it on."""
    s = data.scale
    data.counts["price list base"] = base = q.next_id(PriceList)
    first, dists = data.first_distributor_id, s.distributors
    currency = "CASE WHEN {d} % 5 = 4 THEN 'AUD' ELSE 'EUR' END"
    created = q.at(str(q.epoch(data.now - timedelta(days=200))))
    written = q.insert(
        PriceList,
        {
            "id": f"{base} + x.n",
            "issuer_id": str(data.vendor_id),
            "customer_id": f"{first} + x.n",
            "currency": currency.format(d="x.n"),
            "created_at": created,
        },
        f"FROM {q.numbers(dists)} x",
    )
    written += q.insert(
        PriceList,
        {
            "id": f"{base} + {dists} + x.n",
            "issuer_id": f"{first} + x.n % {dists}",
            "customer_id": f"{data.first_msp_id} + x.n",
            "currency": currency.format(d=f"(x.n % {dists})"),
            "created_at": created,
        },
        f"FROM {q.numbers(s.msps)} x WHERE x.n % 50 <> 49",
    )
    items = [("spmsp", e, 1500 + 400 * i) for i, e in enumerate(("server", "sbs", "desktop", "vm"))]
    items += [
        ("imagemanager", j, 90 + 10 * i)
        for i, j in enumerate(("intelligentftp", "shadowstream", "headstart"))
    ]
    items += [("gre", "", 2500)]
    since = data.month.previous.previous.previous.first_day
    rows = [(data.products[p], item, unit, since) for p, item, unit in items]
    rows.append((data.products["spmsp"], "server", 1700, data.month.first_day))
    union = " UNION ALL ".join(
        f"SELECT {p} AS product_id, {q.text(item)} AS item, {unit} AS unit, {q.text(day.isoformat())} AS day"
        for p, item, unit, day in rows
    )
    # A small per-list difference so that the sums of the statements are not all alike.
    day = "CAST(i.day AS date)" if q.postgres() else "i.day"
    written += q.insert(
        Price,
        {
            "price_list_id": "pl.id",
            "product_id": "i.product_id",
            "item": "i.item",
            "valid_from": day,
            "unit_minor": "i.unit + (pl.id % 7) * 10",
            "created_at": created,
        },
        f"FROM billing_pricelist pl CROSS JOIN ({union}) i WHERE pl.id >= {base}",
    )
    return written
