"""A key's billing, month by month, and its forecast for the running month (SPEC §8): what
Activation Details and the key lists show. The engine counts (engine.explain,
engine.key_months, engine.forecast_for); this module chooses the months and the words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from keyledger.billing.engine import (
    Forecast,
    KeyMonth,
    Scope,
    SpanDays,
    explain,
    forecast_for,
    key_months,
    running_month,
    threshold,
)
from keyledger.billing.models import ActiveSpan
from keyledger.billing.months import Month
from keyledger.billing.sql import Sql
from keyledger.keys.models import Product, ProductKey

# Activation Details shows the running month and this many earlier months the key was active in.
EARLIER_MONTHS = 12


@dataclass(frozen=True)
class KeysScope(Scope):
    """The engine's Scope narrowed to some keys (one page of a key list)."""

    key_ids: tuple[int, ...] = ()

    def where(self, alias: str = "sp") -> Sql:
        sql = super().where(alias)
        if not self.key_ids:
            return Sql(sql.text + " AND 1 = 0", sql.params)
        marks = ", ".join(["%s"] * len(self.key_ids))
        return Sql(f"{sql.text} AND {alias}.key_id IN ({marks})", [*sql.params, *self.key_ids])


def forecasts(keys: Iterable[ProductKey], *, path: str, now: datetime) -> dict[int, Forecast]:
    """The running month's forecast of each key active in it, by key id: one query for
    all of them. Keys not active this month are absent."""
    ids = tuple(sorted({k.pk for k in keys}))
    if not ids:
        return {}
    month = running_month(now)
    rows = key_months(month, KeysScope(path=path, key_ids=ids), as_of=now)
    return {row.key_id: forecast_for(row, month, now=now) for row in rows}


@dataclass(frozen=True)
class MonthBilling:
    """One month of a key: the spans that made its active days, and the days each added."""

    month: Month
    running: bool
    spans: list[SpanDays]

    @property
    def active_days(self) -> int:
        return sum(s.new_days for s in self.spans)

    @property
    def billable(self) -> bool:
        return self.active_days > threshold()


def active_months(key: ProductKey, *, now: datetime) -> list[Month]:
    """The months the key was active in, up to the running month, newest first."""
    current = running_month(now)
    months: set[Month] = set()
    for started, ended in ActiveSpan.objects.filter(key_id=key.pk).values_list("started_at", "ended_at"):
        if ended is not None and ended <= started:
            continue  # undone at the same instant: active on no day
        month = Month.of(started)
        last = Month.of(ended - timedelta(microseconds=1)) if ended is not None else current
        while month <= min(last, current):
            months.add(month)
            month = month.next
    return sorted(months, reverse=True)


def key_billing(key: ProductKey, *, path: str, now: datetime) -> list[MonthBilling]:
    """The running month and up to EARLIER_MONTHS earlier months the key was active in,
    newest first: a few queries however long its history."""
    current = running_month(now)
    earlier = [m for m in active_months(key, now=now) if m < current][:EARLIER_MONTHS]
    result = [MonthBilling(month=current, running=True, spans=explain(current, key.pk, path=path, as_of=now))]
    result += [MonthBilling(month=m, running=False, spans=explain(m, key.pk, path=path)) for m in earlier]
    return result


def running_forecast(key: ProductKey, *, path: str, now: datetime) -> Forecast | None:
    return forecasts([key], path=path, now=now).get(key.pk)


def day_label(day) -> str:
    return f"{day.day} {day:%b}"


def forecast_message(forecast: Forecast | None, *, product: Product) -> str:
    """What Activation Details says of the running month."""
    limit = threshold()
    if forecast is None:
        return "Not active this month: not billable."
    days = f"{forecast.active_days} active day{'s' if forecast.active_days != 1 else ''} so far"
    if forecast.billable:
        return f"Billable this month ({days}; billable after {limit})."
    if not forecast.active_now:
        return f"Not billable this month ({days}; billable after {limit})."
    if forecast.billable_on is None:
        return f"Not billable this month even if it stays active ({days}; too few days left)."
    when = day_label(forecast.billable_on)
    if product.can_deactivate:
        return f"Deactivate before {when} to avoid this month's charge ({days})."
    return f"Becomes billable on {when} if it stays active ({days})."


def forecast_cell(forecast: Forecast | None) -> str:
    """The key lists' column: active days this month and the day it becomes billable."""
    if forecast is None:
        return "—"
    days = f"{forecast.active_days} day{'s' if forecast.active_days != 1 else ''}"
    if forecast.billable:
        return f"{days} · billable"
    if forecast.active_now and forecast.billable_on is not None:
        return f"{days} · billable from {day_label(forecast.billable_on)}"
    return f"{days} · not billable"


def key_forecast(key: ProductKey, *, path: str, now: datetime) -> tuple[KeyMonth | None, Forecast | None]:
    """One key's running month as the engine counts it (None, None: not active in it)."""
    month = running_month(now)
    rows = key_months(month, Scope(path=path, key_id=key.pk), as_of=now)
    if not rows:
        return None, None
    return rows[0], forecast_for(rows[0], month, now=now)
