"""A key's months and its forecast (reports.forecast): what Activation Details and the key
lists say, counted by the billing engine."""

from datetime import UTC, date, datetime

import time_machine

from keyledger.billing.months import Month
from keyledger.reports.forecast import (
    active_months,
    forecast_cell,
    forecast_message,
    forecasts,
    key_billing,
    running_forecast,
)
from tests.billing.helpers import activated_at
from tests.keys.factories import product
from tests.reports.conftest import NOW


def test_the_months_a_key_was_active_in(world):
    assert active_months(world.twice, now=NOW) == [Month(2026, 12), Month(2026, 11), Month(2026, 10)]
    assert active_months(world.unused, now=NOW) == []


def test_key_billing_explains_each_month_with_its_spans(world):
    months = key_billing(world.twice, path=world.tree.msp_a1.path, now=NOW)
    assert [m.month for m in months] == [Month(2026, 12), Month(2026, 11), Month(2026, 10)]
    december, november, october = months
    assert (december.running, december.active_days, december.billable) == (True, 10, False)
    # 1-5 November, then 20-30 November: 5 + 11 days.
    assert [(s.first_day, s.last_day, s.new_days) for s in november.spans] == [
        (date(2026, 11, 1), date(2026, 11, 5), 5),
        (date(2026, 11, 20), date(2026, 11, 30), 11),
    ]
    assert (november.active_days, november.billable) == (16, True)
    assert (october.active_days, october.billable) == (12, False)


def test_a_never_active_key_has_only_the_running_month_with_nothing_in_it(world):
    (month,) = key_billing(world.unused, path=world.tree.msp_a1.path, now=NOW)
    assert (month.running, month.active_days, month.spans) == (True, 0, [])


def test_forecasts_for_a_page_of_keys_in_one_query(world, django_assert_num_queries):
    keys = [world.december, world.late, world.all_month, world.unused]
    with django_assert_num_queries(1):
        found = forecasts(keys, path=world.tree.msp_a1.path, now=NOW)
    assert set(found) == {world.december.pk, world.late.pk, world.all_month.pk}
    assert found[world.late.pk].billable_on == date(2026, 12, 22)
    # A key outside the path is not counted.
    assert forecasts([world.image], path=world.tree.msp_a1.path, now=NOW) == {}


def test_the_forecast_words(world):
    spmsp, gre = product("spmsp"), product("gre")
    path = world.tree.vendor.path
    december = running_forecast(world.december, path=path, now=NOW)
    assert forecast_message(december, product=spmsp) == (
        "Deactivate before 15 Dec to avoid this month's charge (10 active days so far)."
    )
    assert forecast_message(december, product=gre) == (
        "Becomes billable on 15 Dec if it stays active (10 active days so far)."
    )
    assert forecast_cell(december) == "10 days · billable from 15 Dec"
    assert forecast_message(None, product=spmsp) == "Not active this month: not billable."
    assert forecast_cell(None) == "—"
    later = datetime(2026, 12, 20, 12, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        billable = running_forecast(world.december, path=path, now=later)
        assert (
            forecast_message(billable, product=spmsp)
            == "Billable this month (20 active days so far; billable after 14)."
        )
        assert forecast_cell(billable) == "20 days · billable"
        key = activated_at(world.tree.account_a1, datetime(2026, 12, 19, tzinfo=UTC))
    # On the 28th at 00:00 it has 9 days (19-27 December) and 4 to go: never more than 14.
    with time_machine.travel(datetime(2026, 12, 28, tzinfo=UTC), tick=False):
        too_late = running_forecast(key, path=path, now=datetime(2026, 12, 28, tzinfo=UTC))
    assert too_late.billable_on is None
    assert forecast_message(too_late, product=spmsp) == (
        "Not billable this month even if it stays active (9 active days so far; too few days left)."
    )
