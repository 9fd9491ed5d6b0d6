"""Month close: one draft per MSP and per distributor, lines per edition, job license type and
key, priced from the customer's own list; idempotent, set-based, never touching a final one."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keyledger.audit.actor import Actor
from keyledger.billing.models import Statement, StatementLine
from keyledger.billing.months import Month
from keyledger.billing.statements import MonthNotEnded, close_month, finalise
from keyledger.billing.statements.numbering import initials
from keyledger.organisations.models import Organisation
from keyledger.testing.billing import NOVEMBER, OCTOBER_FIRST, active_key, november, set_price
from keyledger.testing.tree import make_org

DECEMBER_2 = datetime(2026, 12, 2, 10, tzinfo=UTC)
SPMSP = "ShadowProtect for Managed Service Providers (SP-MSP) \u2013 "
SERVER, DESKTOP, VM = SPMSP + "Server", SPMSP + "Desktop", SPMSP + "Virtual Machine"
SHADOWSTREAM = "StorageCraft ImageManager \u2013 ShadowStream job licenses"
HEADSTART = "StorageCraft ImageManager \u2013 HeadStart Restore job licenses"
GRE = "ShadowProtect Granular Recovery for Exchange (GRE)"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(DECEMBER_2, tick=True) as traveller:
        yield traveller


def lines(statement):
    return [
        (line.description, line.quantity, line.unit_minor, line.amount_minor, line.currency)
        for line in StatementLine.objects.filter(statement=statement).order_by("position")
    ]


def statement_of(customer, month=NOVEMBER):
    return Statement.objects.get(customer=customer, month=month.first_day)


def test_one_draft_per_msp_and_per_distributor_with_keys(tree):
    november(tree)
    result = close_month(month=NOVEMBER)
    assert (result.drafts, result.created, result.final) == (5, 5, 0)
    drafts = Statement.objects.filter(month=NOVEMBER.first_day)
    assert {(s.issuer, s.customer) for s in drafts} == {
        (tree.dist_a, tree.msp_a1),
        (tree.dist_a, tree.msp_a2),
        (tree.vendor, tree.dist_a),
        (tree.dist_b, tree.msp_b1),
        (tree.vendor, tree.dist_b),
    }
    assert all(s.status == "draft" and s.number is None for s in drafts)
    assert not Statement.objects.filter(customer=tree.msp_a3).exists()  # Cobalt had no keys


def test_an_msps_lines_per_edition_job_license_type_and_key(tree):
    november(tree)
    close_month(month=NOVEMBER)
    acme = statement_of(tree.msp_a1)
    assert lines(acme) == [
        (SERVER, 1, 2500, 2500, "EUR"),
        # Billable without a price: a line without an amount, never a zero.
        (VM, 1, None, None, "EUR"),
        (SHADOWSTREAM, 5, 150, 750, "EUR"),
        (HEADSTART, 2, 75, 150, "EUR"),
        (GRE, 1, 4000, 4000, "EUR"),
    ]
    # The Desktop key was active on 11 days: counted, not billed.
    assert (acme.key_count, acme.billable_count, acme.unpriced_count) == (5, 4, 1)
    assert (acme.totals, acme.currency) == ({"EUR": 7400}, "EUR")
    assert lines(statement_of(tree.msp_a2)) == [(SERVER, 1, 2600, 2600, "EUR")]


def test_a_distributors_statement_covers_its_subtree_at_its_own_prices(tree):
    november(tree)
    close_month(month=NOVEMBER)
    northwind = statement_of(tree.dist_a)
    assert lines(northwind) == [
        (SERVER, 2, 1800, 3600, "EUR"),
        (VM, 1, None, None, "EUR"),
        (SHADOWSTREAM, 5, 100, 500, "EUR"),
        (HEADSTART, 2, 50, 100, "EUR"),
        (GRE, 1, 3000, 3000, "EUR"),
    ]
    assert (northwind.key_count, northwind.billable_count, northwind.unpriced_count) == (6, 5, 1)
    assert northwind.totals == {"EUR": 7200}
    # No price list at all: lines without amounts, no totals.
    southgate = statement_of(tree.dist_b)
    assert lines(southgate) == [(SERVER, 1, None, None, "")]
    assert (southgate.totals, southgate.unpriced_count) == ({}, 1)


def test_a_sub_distributors_msp_is_on_three_statements(tree):
    sub = make_org(parent=tree.dist_a, kind=Organisation.Kind.DISTRIBUTOR, name="Harbour Resellers")
    msp = make_org(parent=sub, kind=Organisation.Kind.MSP, name="Quay IT")
    account = msp.accounts.create(name="Quay Account")
    active_key(account, OCTOBER_FIRST)
    close_month(month=NOVEMBER)
    assert {(s.issuer_id, s.customer_id, s.billable_count) for s in Statement.objects.all()} == {
        (sub.pk, msp.pk, 1),
        (tree.dist_a.pk, sub.pk, 1),
        (tree.vendor.pk, tree.dist_a.pk, 1),
    }


def test_closing_again_changes_nothing_and_creates_nothing(tree):
    november(tree)
    close_month(month=NOVEMBER)
    before = {s.pk: lines(s) for s in Statement.objects.all()}
    again = close_month(month=NOVEMBER)
    assert (again.drafts, again.created) == (5, 0)
    assert {s.pk: lines(s) for s in Statement.objects.all()} == before


def test_a_late_event_is_followed_by_the_next_close(tree, clock):
    world = november(tree)
    close_month(month=NOVEMBER)
    clock.shift(timedelta(hours=1))
    extra = active_key(tree.account_a1, datetime(2026, 11, 3, tzinfo=UTC), edition="desktop")
    close_month(month=NOVEMBER)
    acme = statement_of(tree.msp_a1)
    assert (DESKTOP, 1, 2000, 2000, "EUR") in lines(acme)
    assert acme.totals == {"EUR": 9400}
    assert world.desktop.pk != extra.pk


def test_a_final_statement_is_never_touched_by_a_close(tree, clock):
    november(tree)
    close_month(month=NOVEMBER)
    acme = finalise(statement=statement_of(tree.msp_a1), actor=Actor(user=tree.dist_a_admin))
    clock.shift(timedelta(hours=1))
    active_key(tree.account_a1, datetime(2026, 11, 3, tzinfo=UTC))
    result = close_month(month=NOVEMBER)
    assert (result.final, result.drafts) == (1, 4)
    stored = statement_of(tree.msp_a1)
    assert (stored.status, stored.totals, stored.content_sha256) == (
        "final",
        acme.totals,
        acme.content_sha256,
    )


@pytest.mark.parametrize("month", [Month(2026, 12), Month(2027, 1)])
def test_the_running_month_and_future_months_are_refused(tree, month):
    with pytest.raises(MonthNotEnded, match=r"running month|future"):
        close_month(month=month)
    assert not Statement.objects.exists()


def test_a_month_ends_at_midnight_in_the_billing_time_zone(tree, settings):
    settings.KEYLEDGER_BILLING_TIME_ZONE = "Europe/Berlin"
    # 30 November 23:30 UTC is already 1 December in Berlin (a new Month: its days are
    # reckoned in the zone in force when first asked).
    close_month(month=Month(2026, 11), now=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    with pytest.raises(MonthNotEnded):
        close_month(month=Month(2026, 11), now=datetime(2026, 11, 30, 22, 30, tzinfo=UTC))


def test_a_price_from_a_later_month_does_not_apply(tree):
    november(tree)
    set_price(tree.msp_a2, "spmsp", "server", 9900, month=Month(2026, 12))
    close_month(month=NOVEMBER)
    assert statement_of(tree.msp_a2).totals == {"EUR": 2600}


def _msps_with_keys(tree, count):
    for n in range(count):
        msp = make_org(parent=tree.dist_a, kind=Organisation.Kind.MSP, name=f"MSP {n}")
        account = msp.accounts.create(name=f"Account {n}")
        for edition in ("server", "desktop", "vm"):
            active_key(account, OCTOBER_FIRST, edition=edition)
        active_key(account, OCTOBER_FIRST, code="imagemanager", fields={"shadowstream": n + 1})
        set_price(msp, "spmsp", "server", 1000 + n, month=Month(2026, 1))


def test_the_close_takes_as_many_queries_for_many_msps_as_for_one(tree):
    _msps_with_keys(tree, 1)
    with CaptureQueriesContext(connection) as one:
        close_month(month=NOVEMBER)
    StatementLine.objects.all().delete()
    Statement.objects.all().delete()
    _msps_with_keys(tree, 12)
    with CaptureQueriesContext(connection) as many:
        close_month(month=NOVEMBER)
    assert Statement.objects.count() == 13 + 1
    assert len(many.captured_queries) == len(one.captured_queries)


def test_initials_make_the_default_prefix():
    assert initials("Northwind Distribution") == "ND"
    assert initials("Keyledger Vendor") == "KV"
    assert initials("Acme IT-Services & Co.") == "AISC"
