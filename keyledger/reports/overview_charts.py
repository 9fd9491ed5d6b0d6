"""The overview's two charts, per product: active keys per day over the last 90 days, and
billable keys per month over the last 12 months. Both are counted in the database from the
billing engine's own rows (keyledger.billing.engine), so a chart never disagrees with a bill.

Active keys per day is one query: engine.span_days() gives each active span of the window
with the days it adds (a day already counted by the key's span before is not added again),
and each span becomes a +1 on its first new day and a -1 on the day after its last; a running
sum per product then gives the keys active on each day, whatever the number of keys.

Billable keys per month is one query too: the month_keys() of each of the 12 months, grouped
by product and joined with UNION ALL. Each month is still its own pass of the engine (12
scans of the month's spans), which is what a statement of each month would cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from keyledger.billing import engine
from keyledger.billing.months import DayRange, Month, local_date
from keyledger.billing.sql import Sql, fetch
from keyledger.keys.models import Product

DAYS = 90
MONTHS = 12


@dataclass(frozen=True)
class Series:
    product_id: int
    label: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Chart:
    """Numbers per product (series) at each point (a day or a month) of the x axis."""

    points: tuple[date | Month, ...]
    series: tuple[Series, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not any(any(s.values) for s in self.series)

    def rows(self) -> list[tuple[date | Month, list[int], int]]:
        """The table behind the chart: each point, its number per series, and their total."""
        return [
            (point, [s.values[i] for s in self.series], sum(s.values[i] for s in self.series))
            for i, point in enumerate(self.points)
        ]


def _series(counts: dict[int, list[int]], products: dict[int, str], length: int) -> tuple[Series, ...]:
    """One series per product that has a number anywhere, in catalog order."""
    return tuple(
        Series(product_id=pk, label=name, values=tuple(counts[pk]))
        for pk, name in products.items()
        if any(counts.get(pk, [0] * length))
    )


def catalog_names() -> dict[int, str]:
    """Every product of the catalog by its tab label, in its order (inactive ones too: their
    keys still run)."""
    return dict(Product.objects.order_by("sort_order", "name", "pk").values_list("pk", "tab_label"))


def last_days(now: datetime, days: int = DAYS) -> DayRange:
    """The `days` calendar days of the billing time zone up to and including today."""
    today = local_date(now)
    return DayRange(first=date.fromordinal(today.toordinal() - days + 1), count=days)


def active_per_day(
    scope: engine.Scope, *, now: datetime, products: dict[int, str], days: int = DAYS
) -> Chart:
    """Keys active at any moment of each day, per product, over the last `days` days up to now."""
    window = last_days(now, days)
    spans = engine.span_days(window, scope, as_of=now)
    # A span's new days are the last `new_days` of first_day..last_day: the first may be the
    # day the key's previous span ended, counted already.
    rows = fetch(
        Sql(
            f"""
            WITH s AS ({spans.text}),
            steps AS (
                SELECT product_id, last_day - new_days + 1 AS day, 1 AS step FROM s WHERE new_days > 0
                UNION ALL
                SELECT product_id, last_day + 1 AS day, -1 AS step FROM s WHERE new_days > 0
            )
            SELECT product_id, day, SUM(step) FROM steps GROUP BY product_id, day
            """,
            spans.params,
        )
    )
    steps: dict[int, list[int]] = {}
    for product_id, day, step in rows:
        steps.setdefault(product_id, [0] * (days + 2))[int(day)] += int(step)
    counts: dict[int, list[int]] = {}
    for product_id, deltas in steps.items():
        running, values = 0, []
        for day in range(1, days + 1):
            running += deltas[day]
            values.append(running)
        counts[product_id] = values
    return Chart(
        points=tuple(window.day(n) for n in range(1, days + 1)), series=_series(counts, products, days)
    )


def last_months(now: datetime, months: int = MONTHS) -> list[Month]:
    """The `months` billing months up to and including the running one, oldest first."""
    found = [Month.of(now)]
    while len(found) < months:
        found.append(found[-1].previous)
    return found[::-1]


def billable_per_month(
    scope: engine.Scope, *, now: datetime, products: dict[int, str], months: int = MONTHS
) -> Chart:
    """Billable keys per product in each of the last `months` months; the running month as
    of now (provisional: a key may still pass the line before the month ends)."""
    window = last_months(now, months)
    parts: list[str] = []
    params: list = []
    for index, month in enumerate(window):
        mk = engine.month_keys(month, scope, as_of=now)
        parts.append(
            f"SELECT {index} AS month_index, mk.product_id, SUM(mk.billable) AS billable"
            f" FROM ({mk.text}) mk GROUP BY mk.product_id"
        )
        params += mk.params
    rows = fetch(Sql("\nUNION ALL\n".join(parts), params))
    counts: dict[int, list[int]] = {}
    for index, product_id, billable in rows:
        counts.setdefault(product_id, [0] * months)[int(index)] = int(billable or 0)
    return Chart(points=tuple(window), series=_series(counts, products, months))
