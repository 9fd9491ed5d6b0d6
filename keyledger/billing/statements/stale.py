"""Drafts follow late events: a draft is stale when, since it was computed, an event that took
effect before its month's end was recorded in its customer's subtree (KeyEvent ids above its
`event_watermark`: a lease that ended while the worker was down), or a price of its
customer's list for its month or an earlier one was created (after its `computed_at`).
Corrections of earlier final statements are covered by the same two checks: whatever
changes a final statement of an earlier month is such an event or price.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.utils import timezone

from keyledger.billing.models import Price, Statement
from keyledger.billing.months import Month
from keyledger.billing.sql import Sql, as_datetime, dt, fetch, fetch_dicts
from keyledger.billing.statements.compute import close_month, refresh_draft
from keyledger.billing.statements.orgs import OrgIndex

Status = Statement.Status
# More stale drafts than this in one month: one month close is cheaper than one pass each.
WHOLE_MONTH = 25


def is_stale(statement: Statement) -> bool:
    """One draft (with its customer) is behind the events or prices."""
    if statement.is_final:
        return False
    month = Month.of(statement.month)
    late = fetch(
        Sql(
            """SELECT 1 FROM keys_keyevent e
               WHERE e.id > %s AND e.at < %s
                 AND e.msp_id IN (SELECT id FROM organisations_organisation WHERE path LIKE %s)
               LIMIT 1""",
            [statement.event_watermark, dt(month.end), statement.customer.path + "%"],
        )
    )
    if late:
        return True
    return Price.objects.filter(
        price_list__customer_id=statement.customer_id,
        created_at__gt=statement.computed_at,
        valid_from__lte=statement.month,
    ).exists()


def fresh(statement: Statement, *, now: datetime | None = None) -> Statement:
    """The statement, its draft first brought up to date if it is stale (a page showing it)."""
    if statement.is_final or not is_stale(statement):
        return statement
    return refresh_draft(statement=statement, now=now)


def stale_drafts() -> list[Statement]:
    """Every stale draft, found with a few queries whatever the number of drafts."""
    drafts = list(
        Statement.objects.filter(status=Status.DRAFT).only(
            "id", "customer_id", "month", "event_watermark", "computed_at", "status"
        )
    )
    if not drafts:
        return []
    orgs = OrgIndex.load()
    stale: set[int] = set()
    by_month: dict[Month, list[Statement]] = defaultdict(list)
    for draft in drafts:
        by_month[Month.of(draft.month)].append(draft)
    for month, group in by_month.items():
        by_customer = {d.customer_id: d for d in group}
        rows = fetch(
            Sql(
                """SELECT e.msp_id, MAX(e.id) FROM keys_keyevent e
                   WHERE e.id > %s AND e.at < %s GROUP BY e.msp_id""",
                [min(d.event_watermark for d in group), dt(month.end)],
            )
        )
        for msp_id, last_id in rows:
            for customer_id in orgs.customers_of(int(msp_id)):
                draft = by_customer.get(customer_id)
                if draft is not None and last_id > draft.event_watermark:
                    stale.add(draft.pk)
    prices = fetch_dicts(
        Sql(
            """SELECT pl.customer_id, p.valid_from, MAX(p.created_at) AS created_at
               FROM billing_price p JOIN billing_pricelist pl ON pl.id = p.price_list_id
               WHERE p.created_at > %s GROUP BY pl.customer_id, p.valid_from""",
            [dt(min(d.computed_at for d in drafts))],
        )
    )
    by_customer_all: dict[int, list[Statement]] = defaultdict(list)
    for draft in drafts:
        by_customer_all[draft.customer_id].append(draft)
    for row in prices:
        valid_from, created_at = row["valid_from"], as_datetime(row["created_at"])
        if isinstance(valid_from, str):
            valid_from = datetime.fromisoformat(valid_from).date()
        for draft in by_customer_all.get(row["customer_id"], ()):
            if valid_from <= draft.month and created_at > draft.computed_at:
                stale.add(draft.pk)
    return [d for d in drafts if d.pk in stale]


def refresh_stale_drafts(*, now: datetime | None = None) -> int:
    """Bring every stale draft up to date; the number refreshed."""
    now = now or timezone.now()
    by_month: dict[Month, list[Statement]] = defaultdict(list)
    for draft in stale_drafts():
        by_month[Month.of(draft.month)].append(draft)
    refreshed = 0
    for month, drafts in sorted(by_month.items()):
        if len(drafts) > WHOLE_MONTH:
            refreshed += close_month(month=month, now=now).drafts
            continue
        for draft in drafts:
            refresh_draft(statement=draft, now=now)
            refreshed += 1
    return refreshed
