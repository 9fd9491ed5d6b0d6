"""Turning billable soon: active keys not yet billable this month, with their active days
so far and the day each becomes billable if it stays active."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from keyledger.billing.engine import billable_on
from keyledger.billing.months import Month
from keyledger.keys.models import Product
from keyledger.reports.scope import ReportScope
from keyledger.reports.soon import COLUMNS, HEADER, TurningBillableSoon, sort_for
from keyledger.reports.sorting import Sort
from tests.billing.helpers import activated_at, deactivated_at
from tests.reports.conftest import NOW, utc
from tests.reports.helpers import all_rows, csv_bytes, parse_csv, reference_order


def soon(scope, *, now=NOW, sort="") -> TurningBillableSoon:
    return TurningBillableSoon(
        scope=scope, products=list(Product.objects.all()), sort=sort_for(sort), now=now
    )


def test_active_keys_not_yet_billable_with_the_day_each_becomes_billable(world):
    w = world
    report = soon(ReportScope(viewer=w.tree.msp_a1))
    rows = {r["product_key"]: r for r in all_rows(report)}
    # 1-10 December: 10 days so far, the 15th makes 15. From the 8th: 3 days, the 22nd.
    assert (rows[w.december.key]["active_days"], rows[w.december.key]["billable_on"]) == (
        10,
        date(2026, 12, 15),
    )
    assert (rows[w.late.key]["active_days"], rows[w.late.key]["billable_on"]) == (3, date(2026, 12, 22))
    assert w.unused.key not in rows and w.image.key not in rows  # never active; another MSP
    for row in rows.values():
        assert row["billable_on"] == billable_on(
            Month(2026, 12), active_days=row["active_days"], today=date(2026, 12, 10)
        )
    # Sorted by that day by default, soonest first.
    days = [r["billable_on"] for r in all_rows(report)]
    assert days == sorted(days)


def test_billable_and_deactivated_keys_are_not_listed(world):
    w = world
    deactivated_at(w.december, utc(2026, 12, 10, 11, 30))
    with time_machine.travel(datetime(2026, 12, 20, 12, tzinfo=UTC), tick=False):
        rows = {
            r["product_key"]
            for r in all_rows(
                soon(ReportScope(viewer=w.tree.msp_a1), now=datetime(2026, 12, 20, 12, tzinfo=UTC))
            )
        }
    # By the 20th the long-running keys are billable; the deactivated one is not active.
    assert w.december.key not in rows and w.all_month.key not in rows
    assert rows == {w.late.key}


def test_a_key_too_late_to_become_billable_this_month_has_no_day(tree):
    with time_machine.travel(datetime(2026, 12, 25, 12, tzinfo=UTC), tick=False):
        key = activated_at(tree.account_a1, datetime(2026, 12, 24, 9, tzinfo=UTC))
        report = soon(ReportScope(viewer=tree.msp_a1), now=datetime(2026, 12, 25, 12, tzinfo=UTC))
        (row,) = all_rows(report)
        assert (row["product_key"], row["active_days"], row["billable_on"]) == (key.key, 2, None)
        assert row["cells"][-1].text == "Not this month"
        (line,) = parse_csv(csv_bytes(report))[1:]
    assert line[-2:] == ["2", ""]


def test_the_csv_file(world):
    lines = parse_csv(
        csv_bytes(soon(ReportScope(viewer=world.tree.dist_a, msp=world.tree.msp_a1), sort="-billable_on"))
    )
    assert lines[0] == HEADER == [
        "MSP", "Product Key", "Product", "Edition", "Account", "Site", "Machine Name", "Activated", "Active Days",
        "Billable On",
    ]  # fmt: skip
    assert lines[1][1] == world.late.key and lines[1][-2:] == ["3", "2026-12-22"]
    assert lines[1][7] == "2026-12-08T06:00:00Z"


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: c.key)
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_sorting_by_every_column_is_stable(world, column, descending):
    report = soon(ReportScope(viewer=world.tree.vendor))
    report.sort = Sort(column, descending)
    rows = all_rows(report)
    assert len(rows) >= 6
    expected = reference_order(rows, column, descending=descending, tiebreak=lambda r: r["key_id"])
    assert [r["key_id"] for r in rows] == [r["key_id"] for r in expected]
