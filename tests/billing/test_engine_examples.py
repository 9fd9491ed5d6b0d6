"""Every example of SPEC §8, each its own test, through the real flows."""

from datetime import UTC, datetime, timedelta

import pytest

from keyledger.billing.engine import Scope, key_months
from keyledger.billing.months import Month
from tests.billing.helpers import activated_at, deactivated_at, reactivated_at
from tests.keys.factories import call

DECEMBER = Month(2026, 12)  # 31 days
NOVEMBER = Month(2026, 11)  # 30 days


def dec(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=UTC)


def billing(tree, key, month=DECEMBER):
    (row,) = key_months(month, Scope(path=tree.vendor.path, key_id=key.pk))
    return row


def test_active_all_month_is_billable(tree):
    key = activated_at(tree.account_a1, datetime(2026, 11, 20, 9, tzinfo=UTC))
    for day in range(1, 32, 2):
        call(key, now=dec(day, 9))
    row = billing(tree, key)
    assert (row.active_days, row.billable, row.active_at_end) == (31, True, True)


def test_activated_on_the_18th_at_midnight_is_14_days_not_billable(tree):
    key = activated_at(tree.account_a1, dec(18))
    row = billing(tree, key)
    assert (row.active_days, row.billable) == (14, False)


def test_activated_on_the_17th_at_23_59_is_15_days_billable(tree):
    key = activated_at(tree.account_a1, dec(17, 23, 59))
    row = billing(tree, key)
    assert (row.active_days, row.billable) == (15, True)


def test_deactivation_final_on_the_14th_at_10_is_not_billable(tree):
    key = activated_at(tree.account_a1, datetime(2026, 11, 10, tzinfo=UTC))
    deactivated_at(key, dec(14, 10))
    row = billing(tree, key)
    assert (row.active_days, row.billable, row.deactivated_at) == (14, False, dec(14, 10))


def test_deactivation_final_on_the_15th_at_00_00_01_is_billable(tree):
    key = activated_at(tree.account_a1, datetime(2026, 11, 10, tzinfo=UTC))
    deactivated_at(key, dec(15, 0, 0, 1))
    row = billing(tree, key)
    assert (row.active_days, row.billable) == (15, True)


def test_deactivated_on_the_5th_and_reactivated_on_the_20th_of_a_30_day_month_is_16_days(tree):
    key = activated_at(tree.account_a1, datetime(2026, 10, 20, tzinfo=UTC))
    deactivated_at(key, datetime(2026, 11, 5, 12, tzinfo=UTC))
    reactivated_at(key, datetime(2026, 11, 20, 12, tzinfo=UTC))
    row = billing(tree, key, NOVEMBER)
    assert (row.active_days, row.billable) == (16, True)
    assert row.activated_at == datetime(2026, 10, 20, tzinfo=UTC) and row.deactivated_at is None


def test_never_activated_keys_are_never_billable(tree):
    from tests.keys.factories import source

    source(account=tree.account_a1, quantity=3)
    assert key_months(DECEMBER, Scope(path=tree.vendor.path)) == []


@pytest.mark.parametrize("days", [14, 15])
def test_the_rule_holds_in_the_month_of_deactivation(tree, days):
    key = activated_at(tree.account_a1, datetime(2026, 11, 1, tzinfo=UTC))
    deactivated_at(key, dec(1) + timedelta(days=days - 1, hours=12))
    row = billing(tree, key)
    assert (row.active_days, row.billable) == (days, days > 14)
