"""Month close: every draft statement of a month that has ended, created or brought up to date
in one pass, and drafts kept up with late events.

One SQL statement groups the month's keys (engine.month_keys, the one place the billing rule
lives) per MSP, product, edition and job license types held; the groups, a few per MSP, are
rolled up in Python to every organisation above (a distributor's statement covers its whole
subtree), priced from each customer's own list, and written in bulk. A final statement is
never touched: drafts are locked first (skipping those being finalised at that moment) and
only those are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from keyledger.billing.engine import Scope, month_keys
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements import corrections
from keyledger.billing.statements.aggregate import Catalog, Tally, key_groups
from keyledger.billing.statements.lines import Content, LineDraft, PriceBook, charges
from keyledger.billing.statements.orgs import OrgIndex
from keyledger.billing.statements.writes import write_drafts
from keyledger.keys.models import KeyEvent

Status = Statement.Status
BATCH = 1000
Progress = Callable[[int, int], None]


class MonthNotEnded(ValueError):
    """Only a month that has ended can be closed or finalised."""


@dataclass(frozen=True)
class CloseResult:
    month: Month
    drafts: int  # drafts written, new or brought up to date
    created: int  # of which new
    final: int  # statements of the month already final, left as they are
    skipped: int  # drafts being finalised by another process at that moment
    event_watermark: int


def latest_event_id() -> int:
    # Read before the keys are: an event written meanwhile is seen as late, never missed.
    return KeyEvent.objects.aggregate(last=Max("id"))["last"] or 0


def require_ended(month: Month, now: datetime) -> None:
    if month.end > now:
        running = Month.of(now)
        when = "is the running month" if month == running else "is in the future"
        raise MonthNotEnded(f"{month} {when}: only a month that has ended has statements.")


def compose(
    tally: Tally | None,
    customer_id: int,
    *,
    book: PriceBook,
    catalog: Catalog,
    extra: Iterable[LineDraft] = (),
) -> Content:
    content = charges(tally or Tally(), customer_id, book, catalog)
    content.lines += list(extra)
    return content


def compute_month(month: Month, *, orgs: OrgIndex, catalog: Catalog) -> dict[int, Content]:
    """customer id → its statement of `month`, computed (nothing written)."""
    tallies: dict[int, Tally] = {}
    for group in key_groups(month_keys(month, Scope(path="/")), catalog):
        for customer_id in orgs.customers_of(group.msp_id):
            tallies.setdefault(customer_id, Tally()).add(group)
    book = PriceBook(month)
    pending = corrections.pending(month, orgs=orgs, catalog=catalog)
    customers = set(tallies) | {c for c, lines in pending.items() if lines}
    return {
        c: compose(tallies.get(c), c, book=book, catalog=catalog, extra=pending.get(c, ()))
        for c in customers
        if orgs.issuer(c) is not None
    }


def close_month(
    *, month: Month, now: datetime | None = None, progress: Progress | None = None
) -> CloseResult:
    """Create or bring up to date every draft statement of `month` (which must have ended):
    one per organisation but the vendor that had keys active in its subtree in the month
    (or a correction due), issued by its parent. Final statements are left as they are.
    Safe to run again, and in several processes at once."""
    now = now or timezone.now()
    require_ended(month, now)
    step = progress or (lambda done, total: None)
    watermark = latest_event_id()
    orgs = OrgIndex.load()
    contents = compute_month(month, orgs=orgs, catalog=Catalog.load())
    batches = max(1, -(-len(contents) // BATCH))
    step(1, batches + 1)
    with transaction.atomic():
        existing = dict(
            Statement.objects.filter(month=month.first_day).order_by().values_list("customer_id", "status")
        )
        new = [
            Statement(
                issuer_id=orgs.issuer(c),
                customer_id=c,
                month=month.first_day,
                computed_at=now,
                event_watermark=0,
            )
            for c in sorted(contents)
            if c not in existing
        ]
        Statement.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
        # Locked drafts only: one being finalised at this moment is skipped, a final one never written.
        drafts = list(
            Statement.objects.select_for_update(skip_locked=True)
            .filter(month=month.first_day, status=Status.DRAFT)
            .order_by("pk")
        )
        for i in range(0, len(drafts), BATCH):
            write_drafts(drafts[i : i + BATCH], contents, now=now, watermark=watermark)
            step(2 + i // BATCH, batches + 1)
        finals = set(
            Statement.objects.filter(month=month.first_day, status=Status.FINAL)
            .order_by()
            .values_list("customer_id", flat=True)
        )
    step(batches + 1, batches + 1)
    locked = {d.customer_id for d in drafts}
    return CloseResult(
        month=month,
        drafts=len(drafts),
        created=len(new),
        final=len(finals),
        skipped=sum(1 for c in contents if c not in locked and c not in finals),
        event_watermark=watermark,
    )


def compute_one(statement: Statement) -> Content:
    """One customer's statement of the statement's month, computed (nothing written)."""
    month = Month.of(statement.month)
    customer_path = statement.customer.path
    catalog = Catalog.load()
    orgs = OrgIndex.load(under=customer_path)
    result = Tally()
    for group in key_groups(month_keys(month, Scope(path=customer_path)), catalog):
        result.add(group)
    book = PriceBook(month, customer_ids=[statement.customer_id])
    pending = corrections.pending(month, orgs=orgs, catalog=catalog, customer_ids=[statement.customer_id])
    return compose(
        result,
        statement.customer_id,
        book=book,
        catalog=catalog,
        extra=pending.get(statement.customer_id, ()),
    )


@transaction.atomic
def refresh_draft(*, statement: Statement, now: datetime | None = None) -> Statement:
    """Recompute one draft now; a final statement (or a draft of a month that has not ended)
    is returned as it is."""
    now = now or timezone.now()
    locked = (
        Statement.objects.select_for_update(of=("self",))
        .select_related("customer", "issuer")
        .get(pk=statement.pk)
    )
    if locked.is_final or Month.of(locked.month).end > now:
        return locked
    watermark = latest_event_id()
    write_drafts([locked], {locked.customer_id: compute_one(locked)}, now=now, watermark=watermark)
    return locked
