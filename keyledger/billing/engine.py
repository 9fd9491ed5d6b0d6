"""The billing rule (SPEC §8), in one place: which keys were active in a month, on how many
days, whether that makes them billable, and where and as what they are billed.

A key's active days in a month are the calendar days of the billing time zone on which
it was active at any moment; a day touched by two spans counts once. A key is billable
when its active days are more than KEYLEDGER_BILLABLE_AFTER_DAYS. It is billed under the
edition, account and site of its last active span in the month (the one open at the
month's end, or the one its deactivation closed).

Everything is one SQL statement over the active spans (billing.models.ActiveSpan), the
same text on SQLite and PostgreSQL: the month's day boundaries (as UTC instants, so
daylight-saving days of 23 or 25 hours are exact) go in as parameters and a CASE turns a
span's start and end into day numbers; a window over each key's spans drops a day
already counted by the span before. Reports, statements, the forecast and the API all
build on month_keys().
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from keyledger.billing.months import DayRange, Month, local_date
from keyledger.billing.sql import Sql, as_datetime, dt, fetch_dicts


def threshold() -> int:
    """Billable when active on more than this many days of the month."""
    return settings.KEYLEDGER_BILLABLE_AFTER_DAYS


@dataclass(frozen=True)
class Scope:
    """Which keys: those of the MSPs whose path starts with `path` (an organisation's
    subtree), optionally one MSP, some products, or one key."""

    path: str
    msp_id: int | None = None
    product_ids: tuple[int, ...] = ()
    key_id: int | None = None

    def where(self, alias: str = "sp") -> Sql:
        text = f" AND {alias}.msp_id IN (SELECT id FROM organisations_organisation WHERE path LIKE %s)"
        params: list = [self.path + "%"]
        if self.msp_id is not None:
            text += f" AND {alias}.msp_id = %s"
            params.append(self.msp_id)
        if self.product_ids:
            text += f" AND {alias}.product_id IN ({', '.join(['%s'] * len(self.product_ids))})"
            params += list(self.product_ids)
        if self.key_id is not None:
            text += f" AND {alias}.key_id = %s"
            params.append(self.key_id)
        return Sql(text, params)


def _day_number(column: str, starts: tuple[datetime, ...], *, end: bool) -> Sql:
    """SQL for the day of the month (1..n) an instant falls on, as a binary tree of CASEs
    over the day boundaries. For a start the day is the one containing the instant; for an
    end (exclusive) the one containing the moment just before it."""
    compare = "<=" if end else "<"
    params: list = []

    def node(low: int, high: int) -> str:
        if low == high:
            return str(low)
        middle = (low + high) // 2
        # Day `middle` ends at starts[middle].
        params.append(dt(starts[middle]))
        left = node(low, middle)
        right = node(middle + 1, high)
        return f"CASE WHEN {column} {compare} %s THEN {left} ELSE {right} END"

    text = node(1, len(starts) - 1)
    return Sql(text, params)


def bound_of(month: Month | DayRange, as_of: datetime | None) -> datetime:
    """The end of what is counted: the month's end, or `as_of` within a running month."""
    if as_of is None or as_of >= month.end:
        return month.end
    return max(as_of, month.start)


def span_days(month: Month | DayRange, scope: Scope, *, as_of: datetime | None = None) -> Sql:
    """One row per active span in the month, or any DayRange (up to `as_of`), with the
    days (numbered from 1) it adds: id, key_id, msp_id, product_id, period_start,
    started_at, ended_at, ends_period, edition, account_id, site_id, machine_name,
    nonempty (1/0), first_day, last_day, prev_last, new_days, is_last (1/0)."""
    bound = bound_of(month, as_of)
    first = _day_number("a.started_at", month.day_starts, end=False)
    last = _day_number("a.e", month.day_starts, end=True)
    where = scope.where("sp")
    # Empty spans (a change and its undoing at the same instant) add no day, but the last
    # span of a key may be one: it carries where the key was when its period ended. Both
    # windows share one ordering, so the database sorts the month's spans once.
    text = f"""
        SELECT b.*,
               CASE WHEN b.nonempty = 0 THEN 0
                    WHEN b.prev_last IS NOT NULL AND b.first_day <= b.prev_last
                    THEN CASE WHEN b.last_day > b.prev_last THEN b.last_day - b.prev_last ELSE 0 END
                    ELSE b.last_day - b.first_day + 1 END AS new_days
        FROM (
            SELECT c.*,
                   MAX(CASE WHEN c.nonempty = 1 THEN c.last_day END) OVER (
                       by_key ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_last,
                   CASE WHEN LEAD(c.id) OVER by_key IS NULL THEN 1 ELSE 0 END AS is_last
            FROM (
                SELECT a.*, {first.text} AS first_day, {last.text} AS last_day
                FROM (
                    SELECT sp.id, sp.key_id, sp.msp_id, sp.product_id, sp.period_start, sp.started_at,
                           sp.ended_at, sp.ends_period, sp.edition, sp.account_id, sp.site_id,
                           sp.machine_name,
                           CASE WHEN sp.ended_at IS NULL OR sp.ended_at > %s THEN %s ELSE sp.ended_at END AS e,
                           CASE WHEN sp.ended_at IS NULL OR sp.ended_at > sp.started_at THEN 1 ELSE 0 END
                               AS nonempty
                    FROM billing_activespan sp
                    WHERE sp.started_at < %s AND (sp.ended_at IS NULL OR sp.ended_at > %s)
                      {where.text}
                ) a
            ) c
            WINDOW by_key AS (PARTITION BY c.key_id ORDER BY c.started_at, c.id)
        ) b
    """
    params = [*first.params, *last.params, dt(bound), dt(bound), dt(bound), dt(month.start), *where.params]
    return Sql(text, params)


def month_keys(month: Month, scope: Scope, *, as_of: datetime | None = None) -> Sql:
    """One row per key active in the month (up to `as_of`, for the running month):
    key_id, msp_id, product_id, edition, account_id, site_id, machine_name, activated_at
    (the start of its first active period in the month), deactivated_at (when its last
    period ended, if within the month), active_days, billable (1/0), active_at_end (1/0:
    still active at the month's end or at `as_of`)."""
    spans = span_days(month, scope, as_of=as_of)
    text = f"""
        SELECT d.key_id,
               MAX(d.msp_id) AS msp_id,
               MAX(d.product_id) AS product_id,
               MAX(CASE WHEN d.is_last = 1 THEN d.edition END) AS edition,
               MAX(CASE WHEN d.is_last = 1 THEN d.account_id END) AS account_id,
               MAX(CASE WHEN d.is_last = 1 THEN d.site_id END) AS site_id,
               MAX(CASE WHEN d.is_last = 1 THEN d.machine_name END) AS machine_name,
               MIN(CASE WHEN d.nonempty = 1 THEN d.period_start END) AS activated_at,
               MAX(CASE WHEN d.is_last = 1 AND d.ends_period AND d.ended_at <= %s THEN d.ended_at END)
                   AS deactivated_at,
               SUM(d.new_days) AS active_days,
               CASE WHEN SUM(d.new_days) > %s THEN 1 ELSE 0 END AS billable,
               MAX(CASE WHEN d.is_last = 1 AND (d.ended_at IS NULL OR d.ended_at > %s) THEN 1 ELSE 0 END)
                   AS active_at_end
        FROM ({spans.text}) d
        GROUP BY d.key_id
        HAVING SUM(d.new_days) > 0
    """
    bound = bound_of(month, as_of)
    return Sql(text, [dt(bound), threshold(), dt(bound), *spans.params])


@dataclass(frozen=True)
class KeyMonth:
    key_id: int
    msp_id: int
    product_id: int
    edition: str
    account_id: int
    site_id: int | None
    machine_name: str
    activated_at: datetime | None
    deactivated_at: datetime | None
    active_days: int
    billable: bool
    active_at_end: bool


def key_months(month: Month, scope: Scope, *, as_of: datetime | None = None) -> list[KeyMonth]:
    """month_keys() as objects, by key id: for small scopes (one key, one MSP's page)."""
    sql = month_keys(month, scope, as_of=as_of)
    sql.text += " ORDER BY d.key_id"
    return [
        KeyMonth(
            key_id=row["key_id"],
            msp_id=row["msp_id"],
            product_id=row["product_id"],
            edition=row["edition"] or "",
            account_id=row["account_id"],
            site_id=row["site_id"],
            machine_name=row["machine_name"] or "",
            activated_at=as_datetime(row["activated_at"]),
            deactivated_at=as_datetime(row["deactivated_at"]),
            active_days=int(row["active_days"]),
            billable=bool(row["billable"]),
            active_at_end=bool(row["active_at_end"]),
        )
        for row in fetch_dicts(sql)
    ]


@dataclass(frozen=True)
class SpanDays:
    """One span of a key in a month, and the days it made count (why is this key billable?)."""

    started_at: datetime
    ended_at: datetime | None
    ends_period: bool
    edition: str
    first_day: date
    last_day: date
    new_days: int


def explain(month: Month, key_id: int, *, path: str, as_of: datetime | None = None) -> list[SpanDays]:
    """The spans of one key in the month with the days each added, in time order."""
    sql = span_days(month, Scope(path=path, key_id=key_id), as_of=as_of)
    sql.text = f"SELECT * FROM ({sql.text}) x WHERE x.nonempty = 1 ORDER BY x.started_at"
    return [
        SpanDays(
            started_at=as_datetime(row["started_at"]),
            ended_at=as_datetime(row["ended_at"]),
            ends_period=bool(row["ends_period"]),
            edition=row["edition"] or "",
            first_day=month.day(int(row["first_day"])),
            last_day=month.day(int(row["last_day"])),
            new_days=int(row["new_days"]),
        )
        for row in fetch_dicts(sql)
    ]


@dataclass(frozen=True)
class Forecast:
    """A key's running month: active days so far and, if it stays active, the day it
    becomes billable (None: not this month)."""

    active_days: int
    billable: bool
    billable_on: date | None
    active_now: bool

    @property
    def deactivate_before(self) -> date | None:
        """Deactivating before this day keeps the key from being billed this month."""
        return None if self.billable else self.billable_on


def billable_on(month: Month, *, active_days: int, today: date) -> date | None:
    """The day an active key, active on `active_days` days up to and including `today`,
    becomes billable if it stays active; None when that is past the month's end."""
    needed = threshold() + 1 - active_days
    if needed <= 0:
        return today
    day = today + timedelta(days=needed)
    return day if day <= month.last_day else None


def forecast_for(row: KeyMonth, month: Month, *, now: datetime) -> Forecast:
    today = local_date(now)
    on = billable_on(month, active_days=row.active_days, today=today) if row.active_at_end else None
    if row.billable:
        on = None
    return Forecast(
        active_days=row.active_days, billable=row.billable, billable_on=on, active_now=row.active_at_end
    )


def running_month(now: datetime | None = None) -> Month:
    return Month.of(now or timezone.now())
