"""The overview's charts against a naive count: walk each calendar day of the billing time
zone and ask of each key's active periods (read from its events) whether it was active at
any moment of that day; a month's billable keys are those active on more than 14 of its days."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from keyledger.billing.engine import threshold
from keyledger.billing.months import Month, local_midnight
from keyledger.keys.models import KeyEvent, ProductKey
from keyledger.reports import overview_charts
from keyledger.reports.overview import scope_for
from tests.billing.helpers import activated_at, deactivated_at, reactivated_at
from tests.keys.factories import call

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def history(tree):
    """Keys on both sides of the 90-day window and of month ends: same-day flips, a
    deactivation at exactly midnight (UTC), an edition change, a sibling's key."""
    k1 = activated_at(tree.account_a1, utc(2026, 7, 10, 3))
    deactivated_at(k1, utc(2026, 9, 3, 23, 30))
    reactivated_at(k1, utc(2026, 9, 3, 23, 50))
    call(k1, now=utc(2026, 10, 10, 12), edition="desktop")
    k2 = activated_at(tree.account_a1, utc(2026, 9, 1, 23, 30))
    deactivated_at(k2, utc(2026, 9, 20, 10))
    reactivated_at(k2, utc(2026, 9, 20, 15))
    deactivated_at(k2, utc(2026, 10, 3))
    activated_at(tree.account_a1, utc(2026, 10, 30, 22), code="gre")
    activated_at(tree.account_a2, utc(2026, 11, 19, 23, 30), code="imagemanager")
    k5 = activated_at(tree.account_a2, utc(2026, 8, 1))
    deactivated_at(k5, utc(2026, 8, 25, 0, 30))
    activated_at(tree.account_b1, utc(2026, 9, 1))
    k7 = activated_at(tree.account_a1, utc(2025, 12, 10, 10))
    deactivated_at(k7, utc(2026, 2, 14, 10))
    # Active from before the 12 months of the chart, stopped in its first month.
    k8 = activated_at(tree.account_a1, utc(2025, 10, 1))
    deactivated_at(k8, utc(2025, 12, 20))


def periods(organisation) -> dict[int, list[tuple[int, datetime, datetime | None]]]:
    """Each key's active periods (product, start, end or None), from its events alone."""
    found: dict[int, list] = defaultdict(list)
    active = ProductKey.ACTIVE_STATES
    events = KeyEvent.objects.filter(msp__path__startswith=organisation.path).select_related("key")
    for event in events.order_by("at", "id"):
        if event.new_state in active and event.old_state not in active:
            found[event.key_id].append([event.key.product_id, event.at, None])
        elif event.old_state in active and event.new_state not in active:
            found[event.key_id][-1][2] = event.at
    return found


def active_on(spans, day: date, now: datetime) -> bool:
    start, end = local_midnight(day), min(local_midnight(day + timedelta(days=1)), now)
    return any(s < end and (e is None or (e > start and e > s)) for _, s, e in spans)


def naive_days(organisation, days: list[date]) -> dict[int, list[int]]:
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * len(days))
    for spans in periods(organisation).values():
        for i, day in enumerate(days):
            if active_on(spans, day, NOW):
                counts[spans[0][0]][i] += 1
    return {pk: values for pk, values in counts.items() if any(values)}


def naive_months(organisation, months: list[Month]) -> dict[int, list[int]]:
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * len(months))
    for spans in periods(organisation).values():
        for i, month in enumerate(months):
            days = [month.first_day + timedelta(days=n) for n in range(month.days)]
            if sum(active_on(spans, day, NOW) for day in days) > threshold():
                counts[spans[0][0]][i] += 1
    return {pk: values for pk, values in counts.items() if any(values)}


def by_product(chart) -> dict[int, list[int]]:
    return {s.product_id: list(s.values) for s in chart.series}


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("who", ["msp_a1", "dist_a", "vendor", "msp_b1"])
def test_the_charts_agree_with_a_day_by_day_count(tree, history, settings, zone, who):
    settings.KEYLEDGER_BILLING_TIME_ZONE = zone
    organisation = getattr(tree, who)
    products = overview_charts.catalog_names()
    daily = overview_charts.active_per_day(scope_for(organisation), now=NOW, products=products)
    assert len(daily.points) == 90 and daily.points[-1] == date(2026, 11, 20)
    assert by_product(daily) == naive_days(organisation, list(daily.points))
    monthly = overview_charts.billable_per_month(scope_for(organisation), now=NOW, products=products)
    assert monthly.points[0] == Month(2025, 12) and monthly.points[-1] == Month(2026, 11)
    assert by_product(monthly) == naive_months(organisation, list(monthly.points))


def test_the_history_exercises_what_it_should(tree, history):
    """The control: the charts above are not trivially empty or flat."""
    products = overview_charts.catalog_names()
    daily = overview_charts.active_per_day(scope_for(tree.dist_a), now=NOW, products=products)
    spmsp = next(s for s in daily.series if s.label == "ShadowProtect")
    assert set(spmsp.values) == {1, 2}
    assert sum(a != b for a, b in zip(spmsp.values, spmsp.values[1:], strict=False)) >= 3
    assert {s.label for s in daily.series} == set(products.values())
    rows = daily.rows()
    assert rows[-1][0] == date(2026, 11, 20) and rows[-1][2] == sum(rows[-1][1])
    monthly = overview_charts.billable_per_month(scope_for(tree.dist_a), now=NOW, products=products)
    by_label = {s.label: list(s.values) for s in monthly.series}
    # December 2025: k7 (22 days) and k8 (20 days); February 2026: k7 stopped on the 14th.
    assert by_label["ShadowProtect"][0] == 2 and by_label["ShadowProtect"][2] == 0
    assert not overview_charts.active_per_day(scope_for(tree.msp_b1), now=NOW, products=products).is_empty


def test_a_subtree_without_keys_has_empty_charts(tree):
    products = overview_charts.catalog_names()
    assert overview_charts.active_per_day(scope_for(tree.msp_a2), now=NOW, products=products).is_empty
    assert overview_charts.billable_per_month(scope_for(tree.msp_a2), now=NOW, products=products).series == ()
