"""The Billing Detail Report (SPEC §9): keys active in a month with their active days,
billable or not, unit price and amount on the viewer's basis; subtotals and grand totals;
a final month read from its statements' items; sorting and the CSV file."""

from datetime import date

import pytest

from keyledger.billing.models import Statement, StatementItem
from keyledger.billing.months import Month
from keyledger.reports.billing_detail import COLUMNS, HEADER
from keyledger.reports.scope import ReportScope
from keyledger.reports.sorting import Sort
from tests.billing.helpers import deactivated_at
from tests.keys.factories import product
from tests.reports.conftest import DECEMBER, NOVEMBER, NOW, utc
from tests.reports.helpers import all_rows, billing, csv_bytes, parse_csv, reference_order


def by_key(rows) -> dict[str, dict]:
    return {r["product_key"]: r for r in rows}


def final_statement(issuer, customer, month: Month, items: list[dict]) -> Statement:
    """A statement made final with these items, the way finalising leaves one: the items are
    written while it is a draft, then one UPDATE makes it final."""
    statement = Statement.objects.create(issuer=issuer, customer=customer, month=month.first_day)
    StatementItem.objects.bulk_create([StatementItem(statement=statement, **item) for item in items])
    Statement.objects.filter(pk=statement.pk).update(
        status=Statement.Status.FINAL, number=f"T-{customer.pk}-{month}", finalised_at=NOW
    )
    return statement


def item_for(key, **values) -> dict:
    fields = {
        "key": key,
        "msp": key.msp,
        "product": key.product,
        "edition": key.edition,
        "account": key.account,
        "site": key.site,
        "msp_name": key.msp.name,
        "product_name": key.product.name,
        "account_name": key.account.name,
        "site_name": key.site.name if key.site else "",
        "machine_name": key.machine_name or "",
        "activated_at": key.activated_at,
        "deactivated_at": None,
        "active_days": 30,
        "billable": True,
        "unit_minor": None,
        "amount_minor": None,
        "currency": "",
    }
    fields.update(values)
    return fields


def test_the_csv_header_is_the_spec_s_columns_in_order():
    assert ",".join(HEADER) == (
        "MSP,Product Key,Product,Edition,Account,Site,Machine Name,Activated,Deactivated,"
        "Active Days,Billable,Unit Price,Amount,Currency"
    )


def test_one_row_per_key_active_in_the_month_priced_for_the_msp(world, prices):
    w = world
    report = billing(ReportScope(viewer=w.tree.dist_a))
    rows = by_key(all_rows(report))
    assert set(rows) == {w.all_month.key, w.short.key, w.twice.key, w.image.key}
    server = rows[w.all_month.key]
    assert (server["msp"], server["active_days"], server["billable"]) == ("Acme IT", 30, 1)
    assert (server["unit_price"], server["amount"], server["currency"]) == (2500, 2500, "EUR")
    assert rows[w.twice.key]["active_days"] == 16 and rows[w.twice.key]["billable"] == 1
    # No price for Acme's desktop edition: no amount at all, never a zero.
    short = rows[w.short.key]
    assert (
        short["active_days"],
        short["billable"],
        short["unit_price"],
        short["amount"],
        short["currency"],
    ) == (
        13,
        0,
        None,
        None,
        None,
    )
    # Bluebird pays in GBP: 3 ShadowStream at 1.50 and 1 HeadStart at 0.75.
    image = rows[w.image.key]
    assert (image["unit_price"], image["amount"], image["currency"]) == (525, 525, "GBP")


def test_subtotals_per_product_and_edition_and_grand_totals_per_currency(world, prices):
    totals = billing(ReportScope(viewer=world.tree.dist_a)).totals()
    lines = [(s.product, s.edition, s.currency, s.keys, s.billable, s.amount_minor) for s in totals.subtotals]
    spmsp = product("spmsp").name
    assert lines == [
        (spmsp, "Desktop", "", 1, 0, None),
        (spmsp, "Server", "EUR", 2, 2, 5000),
        (product("imagemanager").name, "", "GBP", 1, 1, 525),
    ]
    assert totals.by_currency() == [("EUR", 5000), ("GBP", 525)]
    assert (totals.keys, totals.billable, totals.unpriced) == (4, 3, 0)


def test_a_billable_key_without_a_price_is_counted_as_unpriced(world, prices):
    prices["acme"].prices.filter(item="server").delete()
    totals = billing(ReportScope(viewer=world.tree.dist_a, msp=world.tree.msp_a1)).totals()
    assert totals.unpriced == 2 and totals.by_currency() == []


def test_the_price_basis_own_cost_and_vendor_sale(world, prices):
    w = world
    own = by_key(all_rows(billing(ReportScope(viewer=w.tree.dist_a, basis="own"))))
    # Northwind's cost from the vendor: 18.00 a server; a desktop key priced but not billable is 0.
    assert (own[w.all_month.key]["unit_price"], own[w.all_month.key]["currency"]) == (1800, "EUR")
    assert (own[w.short.key]["unit_price"], own[w.short.key]["amount"]) == (900, 0)
    assert own[w.image.key]["unit_price"] == 350
    sale = by_key(all_rows(billing(ReportScope(viewer=w.tree.vendor, basis="sale"))))
    assert sale[w.all_month.key]["unit_price"] == 1800
    assert sale[w.dingo.key]["unit_price"] is None  # no list for Southgate
    as_msp = by_key(all_rows(billing(ReportScope(viewer=w.tree.vendor, basis="msp"))))
    assert as_msp[w.all_month.key]["unit_price"] == 2500


def test_the_running_month_counts_up_to_now_and_is_provisional(world, prices):
    report = billing(ReportScope(viewer=world.tree.msp_a1), DECEMBER)
    rows = by_key(all_rows(report))
    assert rows[world.all_month.key]["active_days"] == 10
    assert rows[world.late.key]["active_days"] == 3
    assert all(r["billable"] == 0 for r in rows.values())
    assert report.status(report.totals()) == "provisional"


def test_a_month_that_is_not_final_is_provisional(world, prices):
    report = billing(ReportScope(viewer=world.tree.dist_a))
    assert report.status(report.totals()) == "provisional"


def test_a_final_month_is_read_from_its_statement_items_and_never_changes(world, prices):
    w = world
    t = w.tree
    final_statement(
        t.dist_a,
        t.msp_a1,
        NOVEMBER,
        [
            item_for(w.all_month, active_days=30, unit_minor=2500, amount_minor=2500, currency="EUR"),
            item_for(w.twice, active_days=16, unit_minor=2500, amount_minor=2500, currency="EUR"),
            item_for(w.short, active_days=13, billable=False, msp_name="Acme IT (as billed)"),
        ],
    )
    scope = ReportScope(viewer=t.dist_a, msp=t.msp_a1)
    before = csv_bytes(billing(scope))
    # Later: a rename, a new price and a late deactivation change nothing in November's report.
    t.account_a1.name = "Alpha Dental Renamed"
    t.account_a1.save(update_fields=["name"])
    prices["acme"].prices.filter(item="server").update(unit_minor=9999)
    deactivated_at(w.december, utc(2026, 12, 10, 11, 30))
    report = billing(scope)
    assert csv_bytes(report) == before
    rows = by_key(all_rows(report))
    assert rows[w.short.key]["msp"] == "Acme IT (as billed)"
    assert rows[w.all_month.key]["account"] == "Alpha Dental"
    assert report.status(report.totals()) == "final"


def test_where_some_statements_are_final_the_others_are_live(world, prices):
    w = world
    t = w.tree
    final_statement(
        t.dist_a,
        t.msp_a1,
        NOVEMBER,
        [item_for(w.all_month, active_days=30, unit_minor=2000, amount_minor=2000, currency="EUR")],
    )
    report = billing(ReportScope(viewer=t.dist_a))
    rows = by_key(all_rows(report))
    # Acme's statement is final: its items only (the key billed at 20.00 then; nothing else of Acme's).
    assert set(rows) == {w.all_month.key, w.image.key}
    assert rows[w.all_month.key]["unit_price"] == 2000
    assert rows[w.image.key]["unit_price"] == 525  # Bluebird's draft: live
    assert report.status(report.totals()) == "partly final"


def test_the_final_statement_of_the_chosen_basis_is_the_one_read(world, prices):
    w = world
    t = w.tree
    # The vendor's statement to Northwind is final; Acme's is not. On the "own" basis
    # Northwind's report reads the vendor's items, on the "msp" basis it stays live.
    final_statement(
        t.vendor,
        t.dist_a,
        NOVEMBER,
        [
            item_for(w.all_month, unit_minor=1700, amount_minor=1700, currency="EUR"),
            item_for(w.image, active_days=29, unit_minor=300, amount_minor=300, currency="EUR"),
        ],
    )
    own = billing(ReportScope(viewer=t.dist_a, basis="own"))
    assert by_key(all_rows(own))[w.all_month.key]["unit_price"] == 1700
    assert own.status(own.totals()) == "final"
    acme_own = by_key(all_rows(billing(ReportScope(viewer=t.dist_a, msp=t.msp_a1, basis="own"))))
    assert set(acme_own) == {w.all_month.key}
    assert by_key(all_rows(billing(ReportScope(viewer=t.dist_a))))[w.all_month.key]["unit_price"] == 2500
    vendor = billing(ReportScope(viewer=t.vendor, basis="sale"))
    assert by_key(all_rows(vendor))[w.all_month.key]["unit_price"] == 1700
    assert vendor.status(vendor.totals()) == "partly final"  # Southgate's keys are live


def test_the_csv_file(world, prices):
    w = world
    report = billing(ReportScope(viewer=w.tree.dist_a))
    lines = parse_csv(csv_bytes(report))
    assert lines[0] == HEADER
    spmsp = product("spmsp").name
    # Grouped by product (catalog order), then by Product Key.
    server, twice, short = sorted(
        [
            ["Acme IT", w.all_month.key, spmsp, "Server", "Alpha Dental", "", "FS01",
             "2026-10-01T09:00:00Z", "", "30", "Yes", "25.00", "25.00", "EUR"],
            ["Acme IT", w.twice.key, spmsp, "Server", "Alpha Dental", "Alpha Dental Main Street", "FS01",
             "2026-10-20T00:00:00Z", "", "16", "Yes", "25.00", "25.00", "EUR"],
            ["Acme IT", w.short.key, spmsp, "Desktop", "Alpha Dental", "", "FS01",
             "2026-11-18T00:00:00Z", "", "13", "No", "", "", ""],
        ],
        key=lambda line: line[1],
    )  # fmt: skip
    image = [
        "Bluebird Managed", w.image.key, product("imagemanager").name, "", "Bravo Legal", "", "FS01",
        "2026-11-02T10:00:00Z", "", "29", "Yes", "5.25", "5.25", "GBP",
    ]  # fmt: skip
    assert lines[1:] == [server, twice, short, image]


def test_a_deactivation_in_the_month_is_in_the_deactivated_column(world, prices):
    deactivated_at(world.december, utc(2026, 12, 9, 15))
    rows = by_key(all_rows(billing(ReportScope(viewer=world.tree.msp_a1), DECEMBER)))
    assert rows[world.december.key]["deactivated"] == utc(2026, 12, 9, 15)
    assert rows[world.december.key]["active_days"] == 9


def test_an_empty_month_is_a_csv_with_its_header_only(world):
    report = billing(ReportScope(viewer=world.tree.msp_a2), Month(2026, 6))
    assert report.totals().keys == 0
    assert csv_bytes(report) == (",".join(HEADER) + "\r\n").encode()


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: c.key)
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_sorting_by_every_column_is_stable_within_each_product(world, prices, column, descending):
    w = world
    deactivated_at(w.all_month, utc(2026, 11, 25, 10))
    report = billing(ReportScope(viewer=w.tree.vendor, basis="msp"))
    report.sort = Sort(column, descending)
    rows = all_rows(report)
    assert len(rows) == 5
    order = {p.pk: (p.sort_order, p.pk) for p in report.products}
    expected = reference_order(
        rows,
        column,
        descending=descending,
        tiebreak=lambda r: r["key_id"],
        group=lambda r: order[r["product_id"]],
    )
    assert [r["key_id"] for r in rows] == [r["key_id"] for r in expected]
    paged = [r["key_id"] for offset in range(0, 5, 2) for r in report.fetch_page(offset, 2)]
    assert paged == [r["key_id"] for r in rows]


def test_the_report_of_a_month_before_any_key_is_empty(world):
    assert billing(ReportScope(viewer=world.tree.vendor), Month(2026, 1)).count() == 0
    assert date(2026, 1, 1) < NOW.date()


@pytest.mark.parametrize(
    "sort", ["product_key", "-msp", "site", "-activated", "billable", "amount", "-currency"]
)
def test_a_page_and_the_totals_together_are_the_page_and_the_totals_apart(world, prices, sort):
    w = world
    t = w.tree
    final_statement(
        t.dist_a,
        t.msp_a1,
        NOVEMBER,
        [item_for(w.all_month, unit_minor=2000, amount_minor=2000, currency="EUR")],
    )
    report = billing(ReportScope(viewer=t.vendor, basis="msp"), sort=sort)
    for offset, limit in [(0, 2), (2, 2), (4, 2), (0, 50), (10, 5)]:
        rows, totals = report.page_and_totals(offset, limit)
        assert [(r["source"], r["key_id"]) for r in rows] == [
            (r["source"], r["key_id"]) for r in report.fetch_page(offset, limit)
        ]
        assert totals == report.totals()
    assert report.totals().keys == 3 and report.totals().final_rows == 1


def test_the_sale_basis_totals_price_each_distributors_keys_at_its_own_list(world, prices):
    totals = billing(ReportScope(viewer=world.tree.vendor, basis="sale")).totals()
    assert totals.by_currency() == [("EUR", 1800 + 1800 + 350)]
    assert totals.unpriced == 1  # Southgate's GRE key: no list for Southgate
