"""The Activation Report (SPEC §9): one row per active period overlapping the days, its
columns, scope, products, sorting by every column, and the CSV file."""

from datetime import date, timedelta

import pytest
import time_machine

from keyledger.reports.activation import COLUMNS, HEADER
from keyledger.reports.scope import ReportScope
from keyledger.reports.sorting import Sort
from tests.keys.factories import product
from tests.reports.conftest import NOW, utc
from tests.reports.helpers import activation, all_rows, csv_bytes, parse_csv, reference_order

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)


def keys_of(rows) -> list[str]:
    return [r["product_key"] for r in rows]


def test_the_csv_header_is_the_spec_s_columns_in_order():
    assert ",".join(HEADER) == (
        "Product Key,Product,Edition,Account,Site,Machine Name,Status,Activated,Deactivated,Last Call Home,Version"
    )


def test_one_row_per_active_period_overlapping_the_days(world):
    w = world
    rows = all_rows(activation(ReportScope(viewer=w.tree.dist_a), NOV_1, NOV_30))
    # Twice has two periods in November; December's keys, the never-activated one and the
    # sibling distributor's do not appear.
    assert sorted(keys_of(rows)) == sorted(
        [w.all_month.key, w.short.key, w.twice.key, w.twice.key, w.image.key]
    )
    first, second = sorted((r for r in rows if r["product_key"] == w.twice.key), key=lambda r: r["activated"])
    assert (first["activated"], first["deactivated"], first["status"]) == (
        utc(2026, 10, 20),
        utc(2026, 11, 5, 12),
        "Deactivated",
    )
    assert (second["activated"], second["deactivated"], second["status"]) == (
        utc(2026, 11, 20, 12),
        None,
        "OK",
    )
    assert first["site"] == second["site"] == w.tree.site_a1.name


def test_a_period_that_ended_before_the_first_day_or_began_after_the_last_is_left_out(world):
    scope = ReportScope(viewer=world.tree.dist_a)
    # 6 to 19 November: twice was deactivated (5 Nov) and not yet reactivated (20 Nov).
    rows = all_rows(activation(scope, date(2026, 11, 6), date(2026, 11, 17)))
    assert sorted(keys_of(rows)) == sorted([world.all_month.key, world.image.key])
    # The End Date is inclusive: 18 November takes in the key activated that day at 00:00.
    rows = all_rows(activation(scope, date(2026, 11, 6), date(2026, 11, 18)))
    assert world.short.key in keys_of(rows)
    # The Start Date too: a period that ended during 5 November overlaps it.
    rows = all_rows(activation(scope, date(2026, 11, 5), date(2026, 11, 5)))
    assert keys_of(rows).count(world.twice.key) == 1


def test_columns_of_open_and_closed_periods(world):
    w = world
    rows = {
        (r["product_key"], r["deactivated"] is None): r
        for r in all_rows(activation(ReportScope(viewer=w.tree.msp_a1), NOV_1, date(2026, 12, 10)))
    }
    server = rows[(w.all_month.key, True)]
    assert server["product"] == "ShadowProtect for Managed Service Providers (SP-MSP)"
    assert (server["edition"], server["account"], server["site"], server["machine_name"]) == (
        "Server",
        "Alpha Dental",
        None,
        "FS01",
    )
    # Open: the key's own last call home and version, and its status now.
    assert (server["last_call_home"], server["version"], server["status"]) == (
        utc(2026, 12, 9, 9),
        "5.3.0",
        "OK",
    )
    # Closed: as they were when the period ended.
    closed = rows[(w.twice.key, False)]
    assert (closed["last_call_home"], closed["version"]) == (utc(2026, 11, 5, 12), "5.2.7")
    assert rows[(w.december.key, True)]["edition"] == "Virtual Machine"


def test_the_status_of_an_open_period_is_the_keys_status_now(world):
    # Silent for more than 72 hours by the 13th: Critical before the worker writes it down.
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        from django.utils import timezone

        report = activation(ReportScope(viewer=world.tree.msp_a1), NOV_1, NOV_30)
        report.now = timezone.now()
        statuses = {r["product_key"]: r["status"] for r in all_rows(report) if r["deactivated"] is None}
    assert statuses[world.short.key] == "Critical"


def test_products_to_include(world):
    scope = ReportScope(viewer=world.tree.dist_a)
    only_image = activation(scope, NOV_1, NOV_30, product_ids=[product("imagemanager").pk])
    assert keys_of(all_rows(only_image)) == [world.image.key]
    assert all_rows(activation(scope, NOV_1, NOV_30, product_ids=[product("gre").pk])) == []


def test_scope_one_msp_a_distributor_or_everything(world):
    w = world
    t = w.tree
    acme = all_rows(activation(ReportScope(viewer=t.dist_a, msp=t.msp_a1), NOV_1, NOV_30))
    assert w.image.key not in keys_of(acme) and w.all_month.key in keys_of(acme)
    vendor_all = keys_of(all_rows(activation(ReportScope(viewer=t.vendor), NOV_1, NOV_30)))
    assert w.dingo.key in vendor_all and w.image.key in vendor_all
    southgate = keys_of(
        all_rows(activation(ReportScope(viewer=t.vendor, distributor=t.dist_b), NOV_1, NOV_30))
    )
    assert southgate == [w.dingo.key]


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: c.key)
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_sorting_by_every_column_is_stable(world, column, descending):
    scope = ReportScope(viewer=world.tree.vendor)
    first, last = date(2026, 10, 1), date(2026, 12, 10)
    report = activation(scope, first, last)
    report.sort = Sort(column, descending)
    rows = all_rows(report)
    assert len(rows) >= 8
    expected = reference_order(rows, column, descending=descending, tiebreak=lambda r: r["span_id"])
    assert [r["span_id"] for r in rows] == [r["span_id"] for r in expected]
    # Page by page, the same order: ties never swap between pages.
    paged = [r["span_id"] for offset in range(0, len(rows), 3) for r in report.fetch_page(offset, 3)]
    assert paged == [r["span_id"] for r in rows]
    # And the CSV file is in that order too.
    assert [line[0] for line in parse_csv(csv_bytes(report))[1:]] == [r["product_key"] for r in rows]


def test_the_csv_file_has_every_row_in_the_spec_s_format(world):
    w = world
    report = activation(ReportScope(viewer=w.tree.dist_a, msp=w.tree.msp_a1), NOV_1, NOV_30, sort="activated")
    lines = parse_csv(csv_bytes(report))
    assert lines[0] == HEADER
    assert lines[1] == [
        w.all_month.key,
        "ShadowProtect for Managed Service Providers (SP-MSP)",
        "Server",
        "Alpha Dental",
        "",
        "FS01",
        "OK",
        "2026-10-01T09:00:00Z",
        "",
        "2026-12-09T09:00:00Z",
        "5.3.0",
    ]
    assert lines[2][:9] == [
        w.twice.key,
        "ShadowProtect for Managed Service Providers (SP-MSP)",
        "Server",
        "Alpha Dental",
        "Alpha Dental Main Street",
        "FS01",
        "Deactivated",
        "2026-10-20T00:00:00Z",
        "2026-11-05T12:00:00Z",
    ]
    assert len(lines) == 1 + report.count() == 1 + 4


def test_a_report_with_no_rows_is_a_csv_with_its_header_only(world):
    report = activation(ReportScope(viewer=world.tree.msp_a2), date(2020, 1, 1), date(2020, 12, 31))
    assert report.count() == 0
    assert csv_bytes(report) == (",".join(HEADER) + "\r\n").encode()


def test_the_days_are_those_of_the_billing_time_zone(world, settings):
    # 18 November 00:00 UTC is 17 November 19:00 in New York: in a New York report that key
    # is active on the 17th, and the range 1-17 November takes it in.
    settings.KEYLEDGER_BILLING_TIME_ZONE = "America/New_York"
    rows = all_rows(activation(ReportScope(viewer=world.tree.msp_a1), NOV_1, date(2026, 11, 17)))
    assert world.short.key in keys_of(rows)
    settings.KEYLEDGER_BILLING_TIME_ZONE = "UTC"
    rows = all_rows(activation(ReportScope(viewer=world.tree.msp_a1), NOV_1, date(2026, 11, 17)))
    assert world.short.key not in keys_of(rows)


@pytest.mark.parametrize(("offset", "limit"), [(0, 2), (2, 2), (4, 2), (0, 50), (20, 5)])
def test_a_page_comes_with_the_count_of_the_whole_report(world, offset, limit):
    report = activation(
        ReportScope(viewer=world.tree.vendor), date(2026, 10, 1), date(2026, 12, 10), sort="-site"
    )
    rows, count = report.page_and_count(offset, limit)
    assert count == report.count() == 8
    assert [r["span_id"] for r in rows] == [r["span_id"] for r in report.fetch_page(offset, limit)]
