"""The worker's billing step: close the months that ended, keep drafts up with late events,
and make final the drafts past their grace days. Safe in several workers at once: a month
close writes only the drafts it holds locked, and finalising skips a draft another worker
holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements.compute import CloseResult, close_month
from keyledger.billing.statements.finalise import finalise_due
from keyledger.billing.statements.stale import refresh_stale_drafts

# Months a worker that was down catches up on.
CATCH_UP_MONTHS = 3


@dataclass
class BillingRun:
    closed: list[CloseResult] = field(default_factory=list)
    refreshed: int = 0
    finalised: list[Statement] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.closed or self.refreshed or self.finalised)


def months_to_close(now: datetime) -> list[Month]:
    """Ended months not closed yet: the last one, and up to CATCH_UP_MONTHS before it back to
    the newest month that has statements. A month without statements is closed again each
    time (it costs one query of its keys, which found none)."""
    month = Month.of(now).previous
    newest = Statement.objects.order_by("-month").values_list("month", flat=True).first()
    found: list[Month] = []
    for _ in range(CATCH_UP_MONTHS):
        if newest is not None and month.first_day <= newest:
            break
        found.append(month)
        if newest is None:
            break  # a new installation starts with the last month, not its whole past
        month = month.previous
    return sorted(found)


def run(*, now: datetime | None = None) -> BillingRun:
    now = now or timezone.now()
    result = BillingRun()
    for month in months_to_close(now):
        closed = close_month(month=month, now=now)
        if closed.drafts or closed.final:
            result.closed.append(closed)
    result.refreshed = refresh_stale_drafts(now=now)
    result.finalised = finalise_due(now=now)
    return result
