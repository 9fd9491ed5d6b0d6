"""The home overview's queries: keys by status now, the Critical list, the keys turning
billable within a week, and this month's provisional count and amount per currency
(keyledger.reports.overview and keyledger.reports.overview_month)."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from keyledger.access import keys_for_user
from keyledger.billing.models import Price, PriceList
from keyledger.billing.months import Month
from keyledger.billing.pricing import BASIS_MSP, BASIS_OWN, BASIS_SALE
from keyledger.keys import actions, sweeper
from keyledger.keys.models import ProductKey
from keyledger.reports import overview
from keyledger.reports import overview_month as month
from keyledger.reports.overview_month import CurrencyTotal, Provisional
from tests.billing.helpers import activated_at, actor, deactivated_at, sourced_at
from tests.keys.factories import call, product, reload

State = ProductKey.State
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
NOVEMBER = Month(2026, 11)


def nov(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# --- keys by status -----------------------------------------------------------------------


@pytest.fixture
def statuses(tree):
    """Acme's keys in every status as of NOW, some only by the clock (the worker has not
    written them down), and one key each at Bluebird and at the sibling's Dingo."""
    a1 = tree.account_a1
    swept = activated_at(a1, datetime(2026, 10, 1, tzinfo=UTC))
    call(swept, now=nov(10, 12))
    sweeper.sweep(now=nov(14))  # Critical, written down
    ok = activated_at(a1, nov(1, 10))
    call(ok, now=NOW - timedelta(hours=1))
    at_due = activated_at(a1, NOW - timedelta(hours=72))  # due exactly now: still OK
    overdue = activated_at(a1, nov(8))
    call(overdue, now=nov(17, 11))  # due 20 Nov 11:00: Critical by the clock
    pending = activated_at(a1, datetime(2026, 10, 1, tzinfo=UTC))
    call(pending, now=nov(19))
    actions.request_deactivation(key=pending, actor=actor(), now=nov(19, 12))
    lapsed = activated_at(a1, datetime(2026, 9, 1, tzinfo=UTC))
    call(lapsed, now=datetime(2026, 10, 15, 12, tzinfo=UTC))
    actions.request_deactivation(key=lapsed, actor=actor(), now=datetime(2026, 10, 16, tzinfo=UTC))
    gone = deactivated_at(activated_at(a1, datetime(2026, 10, 1, tzinfo=UTC)), nov(5))
    back = deactivated_at(activated_at(a1, datetime(2026, 10, 1, tzinfo=UTC)), nov(5))
    actions.request_reactivation(key=back, actor=actor(), now=nov(6))
    unused = sourced_at(a1, nov(2))
    activated_at(tree.account_a2, NOW - timedelta(hours=2))
    activated_at(tree.account_b1, NOW - timedelta(hours=2))
    return {
        "swept": swept,
        "ok": ok,
        "at_due": at_due,
        "overdue": overdue,
        "pending": pending,
        "lapsed": lapsed,
        "gone": gone,
        "back": back,
        "unused": unused,
    }


def test_keys_are_counted_in_the_status_they_have_now(tree, statuses):
    assert reload(statuses["overdue"]).state == State.OK  # the worker has not seen it
    assert reload(statuses["lapsed"]).state == State.DEACTIVATION_REQUESTED
    counts = overview.status_counts(keys_for_user(tree.msp_a1_admin), now=NOW)
    assert counts == {
        State.OK: 2,
        State.CRITICAL: 2,
        State.DEACTIVATION_REQUESTED: 1,
        State.REACTIVATION_REQUESTED: 1,
        State.UNUSED: 1,
        State.DEACTIVATED: 2,
    }
    # The same as ProductKey.state_at, key by key, for every viewer's subtree.
    for user in (tree.msp_a1_admin, tree.dist_a_admin, tree.vendor_admin, tree.msp_b1_admin):
        keys = keys_for_user(user)
        naive = Counter(k.state_at(NOW) for k in keys)
        assert overview.status_counts(keys, now=NOW) == {s: naive.get(s, 0) for s in overview.STATUSES}
    assert sum(overview.status_counts(keys_for_user(tree.dist_a_admin), now=NOW).values()) == 10
    assert sum(overview.status_counts(keys_for_user(tree.vendor_admin), now=NOW).values()) == 11


def test_a_subtree_without_keys_counts_zero_everywhere(tree):
    assert overview.status_counts(keys_for_user(tree.msp_a2_admin), now=NOW) == dict.fromkeys(
        overview.STATUSES, 0
    )


def test_critical_keys_come_longest_silent_first_with_their_last_call_home(tree, statuses):
    critical = list(overview.keys_in_status(keys_for_user(tree.dist_a_admin), State.CRITICAL, now=NOW))
    assert [k.pk for k in critical] == [statuses["swept"].pk, statuses["overdue"].pk]
    assert critical[1].last_call_home_at == nov(17, 11)
    assert critical[0].account.name == "Alpha Dental" and critical[0].msp.name == "Acme IT"
    # One second before the due time, the overdue key was still OK.
    earlier = overview.keys_in_status(keys_for_user(tree.dist_a_admin), State.OK, now=nov(20, 10, 59))
    assert statuses["overdue"].pk in {k.pk for k in earlier}


def test_each_status_lists_exactly_the_keys_it_counts(tree, statuses):
    keys = keys_for_user(tree.msp_a1_admin)
    for status in overview.STATUSES:
        listed = {k.pk for k in overview.keys_in_status(keys, status, now=NOW)}
        assert listed == {k.pk for k in keys if k.state_at(NOW) == status}, status
    assert {k.pk for k in overview.keys_in_status(keys, State.DEACTIVATED, now=NOW)} == {
        statuses["lapsed"].pk,
        statuses["gone"].pk,
    }


# --- turning billable ---------------------------------------------------------------------


@pytest.fixture
def forecast_keys(tree):
    a1 = tree.account_a1
    return {
        "billable": activated_at(a1, nov(6, 9)),  # 15 days by the 20th: billable already
        "tomorrow": activated_at(a1, nov(7, 9)),  # 14 days: billable on the 21st
        "in_two_days": activated_at(a1, nov(8)),  # 13 days: the 22nd
        "in_a_week": activated_at(a1, nov(13, 9)),  # 8 days: the 27th, the last day of the week
        "in_eight_days": activated_at(a1, nov(14, 9)),  # 7 days: the 28th, outside the week
        "stopped": deactivated_at(activated_at(a1, nov(9)), nov(19)),  # 11 days, stopped
        "late": activated_at(a1, nov(20, 9)),  # 1 day: the line falls in December
        "sibling": activated_at(tree.account_b1, nov(8)),
    }


def test_keys_turning_billable_within_a_week_soonest_first(tree, forecast_keys):
    soon = month.turning_billable(tree.dist_a, now=NOW)
    assert [(s.key_id, s.active_days, s.billable_on) for s in soon] == [
        (forecast_keys["tomorrow"].pk, 14, date(2026, 11, 21)),
        (forecast_keys["in_two_days"].pk, 13, date(2026, 11, 22)),
        (forecast_keys["in_a_week"].pk, 8, date(2026, 11, 27)),
    ]
    assert (soon[0].key, soon[0].msp, soon[0].account) == (
        forecast_keys["tomorrow"].key,
        "Acme IT",
        "Alpha Dental",
    )
    assert month.turning_billable_count(tree.dist_a, now=NOW) == 3
    vendor = month.turning_billable(tree.vendor, now=NOW)
    assert forecast_keys["sibling"].pk in {s.key_id for s in vendor}
    assert month.turning_billable(tree.msp_a2, now=NOW) == []


def test_near_the_months_end_only_keys_that_pass_the_line_this_month_are_listed(tree, forecast_keys):
    later = nov(25, 12)
    soon = month.turning_billable(tree.msp_a1, now=later)
    assert [(s.key_id, s.billable_on) for s in soon] == [
        (forecast_keys["in_a_week"].pk, date(2026, 11, 27)),
        (forecast_keys["in_eight_days"].pk, date(2026, 11, 28)),
    ]
    # On the last day of the month no key becomes billable tomorrow.
    assert month.turning_billable(tree.msp_a1, now=nov(30, 12)) == []


def test_turning_billable_pages_through_the_same_order(tree, forecast_keys):
    rows = month.TurningBillable(tree.dist_a, now=NOW)
    assert len(rows) == 3
    assert [s.key_id for s in rows[1:3]] == [forecast_keys["in_two_days"].pk, forecast_keys["in_a_week"].pk]
    assert rows[0].key_id == forecast_keys["tomorrow"].pk


# --- provisional billing ------------------------------------------------------------------


@pytest.fixture
def billed(tree):
    """As of NOW: Acme bills a Server, a Desktop and a GRE key; Bluebird and Dingo a Server
    key each; Acme's Server key activated on the 13th is not billable yet."""
    october = datetime(2026, 10, 1, tzinfo=UTC)
    activated_at(tree.account_a1, october, edition="server")
    activated_at(tree.account_a1, october, edition="desktop")
    activated_at(tree.account_a1, october, code="gre")
    activated_at(tree.account_a1, nov(13), edition="server")
    activated_at(tree.account_a2, october, edition="server")
    activated_at(tree.account_b1, october, edition="server")


def price(customer, issuer, currency, prices):
    price_list = PriceList.objects.create(issuer=issuer, customer=customer, currency=currency)
    for (code, item), minor in prices.items():
        Price.objects.create(
            price_list=price_list,
            product=product(code),
            item=item,
            valid_from=NOVEMBER.first_day,
            unit_minor=minor,
        )
    return price_list


@pytest.fixture
def priced(tree, billed):
    price(tree.msp_a1, tree.dist_a, "EUR", {("spmsp", "server"): 2500, ("gre", ""): 4000})
    price(tree.msp_a2, tree.dist_a, "GBP", {("spmsp", "server"): 2000})
    price(tree.dist_a, tree.vendor, "EUR", {("spmsp", "server"): 1800})
    price(tree.dist_b, tree.vendor, "AUD", {("spmsp", "server"): 3000})
    # Not in force until December.
    december = PriceList.objects.get(customer=tree.msp_a1)
    Price.objects.create(
        price_list=december,
        product=product("spmsp"),
        item="desktop",
        valid_from=date(2026, 12, 1),
        unit_minor=999,
    )


def test_without_prices_billable_keys_are_counted_and_none_is_priced(tree, billed):
    assert month.provisional(tree.dist_a, now=NOW, basis=BASIS_MSP) == Provisional(
        basis=BASIS_MSP, billable=4, totals=(), unpriced=4
    )
    assert month.provisional(tree.msp_a1, now=NOW, basis=BASIS_MSP).billable == 3
    assert month.provisional(tree.vendor, now=NOW, basis=BASIS_SALE).billable == 5


def test_the_amount_per_currency_on_each_viewers_basis(tree, priced):
    assert month.provisional(tree.msp_a1, now=NOW, basis=BASIS_MSP) == Provisional(
        basis=BASIS_MSP, billable=3, totals=(CurrencyTotal("EUR", 2, 6500),), unpriced=1
    )
    # Northwind: what its MSPs are charged (each in its list's currency), and its own cost.
    assert month.provisional(tree.dist_a, now=NOW, basis=BASIS_MSP) == Provisional(
        basis=BASIS_MSP,
        billable=4,
        totals=(CurrencyTotal("EUR", 2, 6500), CurrencyTotal("GBP", 1, 2000)),
        unpriced=1,
    )
    assert month.provisional(tree.dist_a, now=NOW, basis=BASIS_OWN) == Provisional(
        basis=BASIS_OWN, billable=4, totals=(CurrencyTotal("EUR", 2, 3600),), unpriced=2
    )
    # The vendor: what it charges each distributor.
    assert month.provisional(tree.vendor, now=NOW, basis=BASIS_SALE) == Provisional(
        basis=BASIS_SALE,
        billable=5,
        totals=(CurrencyTotal("AUD", 1, 3000), CurrencyTotal("EUR", 2, 3600)),
        unpriced=2,
    )


def test_each_kind_of_organisation_gets_its_bases(tree):
    assert month.bases_for(tree.msp_a1) == (BASIS_MSP,)
    assert month.bases_for(tree.dist_a) == (BASIS_MSP, BASIS_OWN)
    assert month.bases_for(tree.vendor) == (BASIS_SALE,)


@pytest.mark.parametrize("when", [NOW, nov(25, 12), nov(30, 12)])
@pytest.mark.parametrize("who", ["msp_a1", "dist_a", "vendor", "msp_a2"])
def test_the_running_month_at_once_is_each_part_on_its_own(tree, forecast_keys, priced, when, who):
    organisation = getattr(tree, who)
    bases = month.bases_for(organisation)
    summary = month.running_month(organisation, now=when, bases=bases, limit=2)
    assert summary.soon == month.turning_billable(organisation, now=when, limit=2)
    assert summary.soon_count == month.turning_billable_count(organisation, now=when)
    assert summary.provisional == tuple(month.provisional(organisation, now=when, basis=b) for b in bases)
    assert summary.month == NOVEMBER
    if who == "dist_a" and when == NOW:
        assert (len(summary.soon), summary.soon_count) == (2, 4)
        assert summary.provisional[0].totals
