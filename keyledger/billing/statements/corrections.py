"""Corrections: a final statement never changes, so when one of its keys comes out differently
today (a lease that ended inside the month, written down after it was final; a price added
for that month afterwards), the difference goes on the customer's next draft as a line of
its own, naming the final statement and the key.

What a key was billed on a final statement is its item, plus every correction already
issued for it on a final statement; a correction is the difference between that and the
key recomputed now, so it is issued once and never repeated. Only what may have changed
is recomputed: keys with events recorded after the final statement was computed that took
effect before its month's end (KeyEvent ids above its `event_watermark`), and products with
prices created after it for its month. Final statements of the CORRECTION_MONTHS months
before the draft's are looked at; a final statement's corrections go on the earliest draft
after it, so they are never carried twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum

from keyledger.billing import money
from keyledger.billing.engine import Scope, month_keys
from keyledger.billing.models import Statement, StatementItem, StatementLine
from keyledger.billing.months import Month
from keyledger.billing.sql import Sql, as_datetime, dt, fetch_dicts
from keyledger.billing.statements.aggregate import Catalog, as_fields
from keyledger.billing.statements.lines import LineDraft, PriceBook
from keyledger.billing.statements.orgs import OrgIndex
from keyledger.keys.models import ProductKey

CORRECTION_MONTHS = 12
CHUNK = 500
Status = Statement.Status


@dataclass(frozen=True)
class KeysScope(Scope):
    """A Scope narrowed to some keys (the engine's rule, for just the keys that changed)."""

    key_ids: tuple[int, ...] = ()

    def where(self, alias: str = "sp") -> Sql:
        sql = super().where(alias)
        marks = ", ".join(["%s"] * len(self.key_ids))
        return Sql(f"{sql.text} AND {alias}.key_id IN ({marks})", [*sql.params, *self.key_ids])


@dataclass(frozen=True)
class FinalRef:
    id: int
    customer_id: int
    month: Month
    number: str
    event_watermark: int
    computed_at: datetime


def window_start(month: Month) -> Month:
    start = month
    for _ in range(CORRECTION_MONTHS):
        start = start.previous
    return start


def pending(
    month: Month, *, orgs: OrgIndex, catalog: Catalog, customer_ids: Collection[int] | None = None
) -> dict[int, list[LineDraft]]:
    """Correction lines due on each customer's draft of `month` (customer id → lines)."""
    start = window_start(month)
    finals_qs = Statement.objects.filter(
        status=Status.FINAL, month__gte=start.first_day, month__lt=month.first_day
    )
    drafts_qs = Statement.objects.filter(
        status=Status.DRAFT, month__gt=start.first_day, month__lt=month.first_day
    )
    if customer_ids is not None:
        finals_qs = finals_qs.filter(customer_id__in=list(customer_ids))
        drafts_qs = drafts_qs.filter(customer_id__in=list(customer_ids))
    earlier_drafts: dict[int, list] = defaultdict(list)
    for customer_id, draft_month in drafts_qs.order_by().values_list("customer_id", "month"):
        earlier_drafts[customer_id].append(draft_month)
    finals = [
        FinalRef(pk, customer_id, Month.of(m), number, watermark, computed_at)
        for pk, customer_id, m, number, watermark, computed_at in finals_qs.order_by().values_list(
            "id", "customer_id", "month", "number", "event_watermark", "computed_at"
        )
        # A draft between them carries this final statement's corrections.
        if customer_id in orgs and not any(d > m for d in earlier_drafts.get(customer_id, ()))
    ]
    by_month: dict[Month, list[FinalRef]] = defaultdict(list)
    for final in finals:
        by_month[final.month].append(final)
    result: dict[int, list[LineDraft]] = defaultdict(list)
    for final_month in sorted(by_month):
        for final, lines in _month(final_month, by_month[final_month], orgs=orgs, catalog=catalog):
            result[final.customer_id] += lines
    return dict(result)


def _late_keys(month: Month, finals: list[FinalRef], orgs: OrgIndex) -> dict[int, set[int]]:
    """final id → keys of its subtree with an event recorded after it that took effect before
    its month ended."""
    since = min(f.event_watermark for f in finals)
    rows = fetch_dicts(
        Sql(
            """SELECT e.key_id, MAX(e.msp_id) AS msp_id, MAX(e.id) AS last_id FROM keys_keyevent e
               WHERE e.id > %s AND e.at < %s GROUP BY e.key_id""",
            [since, dt(month.end)],
        )
    )
    by_customer = {f.customer_id: f for f in finals}
    found: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        for customer_id in orgs.customers_of(int(row["msp_id"])):
            final = by_customer.get(customer_id)
            if final is not None and row["last_id"] > final.event_watermark:
                found[final.id].add(int(row["key_id"]))
    return found


def _late_prices(month: Month, finals: list[FinalRef]) -> dict[int, set[int]]:
    """final id → products with a price for its month created after it was computed."""
    since = min(f.computed_at for f in finals)
    rows = fetch_dicts(
        Sql(
            """SELECT pl.customer_id, p.product_id, MAX(p.created_at) AS created_at
               FROM billing_price p JOIN billing_pricelist pl ON pl.id = p.price_list_id
               WHERE p.valid_from <= %s AND p.created_at > %s
               GROUP BY pl.customer_id, p.product_id""",
            [month.first_day, dt(since)],
        )
    )
    by_customer = {f.customer_id: f for f in finals}
    found: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        final = by_customer.get(row["customer_id"])
        if final is not None and as_datetime(row["created_at"]) > final.computed_at:
            found[final.id].add(int(row["product_id"]))
    return found


def _recomputed(month: Month, scope: Scope) -> dict[int, dict]:
    base = month_keys(month, scope)
    sql = Sql(
        f"""SELECT mk.key_id, mk.msp_id, mk.product_id, mk.edition, mk.active_days, mk.billable,
                   k.fields, k.key
            FROM ({base.text}) mk JOIN keys_productkey k ON k.id = mk.key_id""",
        base.params,
    )
    return {int(row["key_id"]): row for row in fetch_dicts(sql)}


def _month(month: Month, finals: list[FinalRef], *, orgs: OrgIndex, catalog: Catalog):
    late = _late_keys(month, finals, orgs)
    priced = _late_prices(month, finals)
    dirty = [f for f in finals if late.get(f.id) or priced.get(f.id)]
    if not dirty:
        return
    keys = sorted(set().union(*(late.get(f.id, set()) for f in dirty)))
    now_rows: dict[int, dict] = {}
    for i in range(0, len(keys), CHUNK):
        now_rows |= _recomputed(month, KeysScope(path="/", key_ids=tuple(keys[i : i + CHUNK])))
    book = PriceBook(month, customer_ids={f.customer_id for f in dirty})
    for final in dirty:
        products = priced.get(final.id, set())
        rows = {k: now_rows[k] for k in late.get(final.id, set()) if k in now_rows}
        if products:
            rows |= _recomputed(
                month, Scope(path=orgs.path(final.customer_id), product_ids=tuple(sorted(products)))
            )
        items = StatementItem.objects.filter(statement_id=final.id)
        wanted = set(late.get(final.id, set()))
        if products:
            wanted |= set(items.filter(product_id__in=products).values_list("key_id", flat=True)) | set(rows)
        yield final, _lines(final, wanted, rows, book, catalog)


def _lines(final: FinalRef, wanted: set[int], rows: dict[int, dict], book: PriceBook, catalog: Catalog):
    billed = {
        i["key_id"]: i
        for k in _chunks(sorted(wanted))
        for i in StatementItem.objects.filter(statement_id=final.id, key_id__in=k).values(
            "key_id", "product_id", "billable", "amount_minor", "currency", "active_days"
        )
    }
    issued = {
        c["key_id"]: c
        for k in _chunks(sorted(wanted))
        for c in StatementLine.objects.filter(
            kind=StatementLine.Kind.CORRECTION,
            corrects_id=final.id,
            statement__status=Status.FINAL,
            key_id__in=k,
        )
        .values("key_id")
        .annotate(quantity=Sum("quantity"), amount=Sum("amount_minor"))
    }
    names = {
        pk: (key, product_id)
        for k in _chunks(sorted(wanted - set(rows)))
        for pk, key, product_id in ProductKey.objects.filter(pk__in=k).values_list("pk", "key", "product_id")
    }
    found = []
    for key_id in sorted(wanted):
        row, item, done = rows.get(key_id), billed.get(key_id), issued.get(key_id, {})
        billable_now = int(row["billable"]) if row else 0
        unit_now = None
        if row:
            fields = as_fields(row["fields"])
            unit_now = book.key_unit(
                final.customer_id,
                catalog,
                int(row["product_id"]),
                row["edition"] or "",
                catalog.licenses_of(int(row["product_id"]), fields),
            )
        charge_now = (unit_now if billable_now else 0) or 0
        billed_quantity = (1 if item and item["billable"] else 0) + (done.get("quantity") or 0)
        billed_amount = ((item["amount_minor"] or 0) if item and item["billable"] else 0) + (
            done.get("amount") or 0
        )
        change = billable_now - billed_quantity
        difference = charge_now - billed_amount
        if change == 0 and difference == 0:
            continue
        unpriced = bool(billable_now) and unit_now is None
        currency = book.currency(final.customer_id) or (item["currency"] if item else "")
        key, product_id = (row["key"], int(row["product_id"])) if row else names[key_id]
        days = int(row["active_days"]) if row else 0
        if change > 0:
            why = f"billable after all ({days} active days)"
        elif change < 0:
            why = f"not billable after all ({days} active days)"
        else:
            why = (
                f"amount {money.format_plain(charge_now, currency)} instead of "
                f"{money.format_plain(billed_amount, currency)}"
            )
        found.append(
            LineDraft(
                kind=StatementLine.Kind.CORRECTION,
                description=f"Correction to {final.number}, key {key}: {why}",
                quantity=change,
                unit_minor=None,
                # An unpriced key that became billable: no amount, never a zero.
                amount_minor=None if unpriced and difference == 0 else difference,
                currency=currency,
                product_id=product_id,
                corrects_id=final.id,
                key_id=key_id,
            )
        )
    return found


def _chunks(ids: list[int]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]
