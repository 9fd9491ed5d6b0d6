"""The Reports tab in Chromium: the billing login lands on it; a distributor views both
reports for one of its MSPs, sorts by a column, downloads the CSV file and opens it; an MSP
sees only its own keys; vendor staff pick a distributor and the MSP list follows."""

from __future__ import annotations

import csv

import pytest
import time_machine
from playwright.sync_api import Page, expect

from keyledger.reports.activation import HEADER as ACTIVATION_HEADER
from keyledger.reports.billing_detail import HEADER as BILLING_HEADER
from tests.browser.conftest import sign_in
from tests.reports.conftest import NOW, build_prices, build_world


@pytest.fixture
def world(tree):
    # The clock runs from 10 December 2026: the keys' history lies in the past, as it would.
    with time_machine.travel(NOW, tick=True):
        world = build_world(tree)
        build_prices(world)
        yield world


def read_download(page: Page, link_name: str = "Download as CSV file") -> tuple[str, list[list[str]]]:
    with page.expect_download() as download:
        page.get_by_role("link", name=link_name).click()
    with open(download.value.path(), encoding="utf-8", newline="") as file:
        return download.value.suggested_filename, list(csv.reader(file))


def report_table(page: Page):
    return page.locator("table.report").first


def test_the_billing_login_lands_on_reports(page, world):
    sign_in(page, world.tree.dist_a_billing.email)
    expect(page).to_have_url(f"{page.context.pages[0].url.split('/reports/')[0]}/reports/")
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Reports").get_by_role("link", name="Billing Detail Report")
    ).to_be_visible()


def test_a_distributor_views_both_reports_for_an_msp_sorts_and_downloads(page, world):
    w = world
    sign_in(page, w.tree.dist_a_admin.email)
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Reports").click()
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Activation Report").click()

    page.get_by_label("MSP", exact=True).select_option(label="Acme IT")
    page.get_by_label("Start Date").fill("2026-11-01")
    page.get_by_label("End Date").fill("2026-11-30")
    page.get_by_role("button", name="View Report").click()
    expect(page.locator(".row-count")).to_have_text("4")
    table = report_table(page)
    assert w.image.key not in table.inner_text()  # Bluebird's

    # Sorted by Activated at first; by Machine Name on a click; then by Activated, twice: the
    # other way round.
    expect(table.locator('th[aria-sort="ascending"]')).to_have_text("Activated ▲")
    table.get_by_role("link", name="Machine Name", exact=True).click()
    expect(report_table(page).locator('th[aria-sort="ascending"]')).to_have_text("Machine Name ▲")
    report_table(page).get_by_role("link", name="Activated", exact=True).click()
    expect(report_table(page).locator('th[aria-sort="ascending"]')).to_have_text("Activated ▲")
    report_table(page).get_by_role("link", name="Activated", exact=True).click()
    expect(report_table(page).locator('th[aria-sort="descending"]')).to_have_text("Activated ▼")
    first_row = report_table(page).locator("tbody tr").first
    expect(first_row).to_contain_text(w.twice.key)
    expect(first_row).to_contain_text("2026-11-20 12:00 UTC")

    name, rows = read_download(page)
    assert name == "activation-report-2026-11-01-to-2026-11-30.csv"
    assert rows[0] == ACTIVATION_HEADER
    assert [r[7] for r in rows[1:]] == [
        "2026-11-20T12:00:00Z",
        "2026-11-18T00:00:00Z",
        "2026-10-20T00:00:00Z",
        "2026-10-01T09:00:00Z",
    ]

    # The Billing Detail Report tab keeps the MSP chosen.
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Billing Detail Report").click()
    expect(page.get_by_label("MSP", exact=True)).to_have_value(str(w.tree.msp_a1.pk))
    page.get_by_label("Month").fill("2026-11")
    page.get_by_role("button", name="View Report").click()
    expect(page.locator(".month-status")).to_contain_text("Provisional")
    expect(
        page.get_by_role("table", name="ShadowProtect for Managed Service Providers (SP-MSP)")
    ).to_contain_text(w.twice.key)
    expect(page.locator("table.totals")).to_contain_text("Total in EUR")
    page.get_by_role("link", name="Amount", exact=True).first.click()
    expect(page.locator('th[aria-sort="ascending"]').first).to_have_text("Amount ▲")

    name, rows = read_download(page)
    assert name == "billing-detail-report-2026-11.csv"
    assert rows[0] == BILLING_HEADER
    by_key = {r[1]: r for r in rows[1:]}
    assert set(by_key) == {w.all_month.key, w.twice.key, w.short.key}
    assert by_key[w.twice.key][9:] == ["16", "Yes", "25.00", "25.00", "EUR"]
    assert by_key[w.short.key][9:] == ["13", "No", "", "", ""]

    # Each row leads to the key's Activation Details, which say why it is billable.
    page.get_by_role("link", name=w.twice.key).first.click()
    expect(page.get_by_role("heading", name="Activation Details")).to_be_visible()
    expect(page.locator(".key-billing-months")).to_contain_text("November 2026")
    expect(page.locator("#key-forecast")).to_contain_text("Deactivate before 15 Dec")


def test_an_msp_sees_only_its_own(page, world):
    w = world
    sign_in(page, w.tree.msp_a1_member.email)
    page.goto("/reports/activation/?start=2026-11-01&end=2026-11-30")
    expect(page.locator(".row-count")).to_have_text("4")
    expect(page.get_by_label("MSP", exact=True)).to_have_count(0)
    body = page.locator("main").inner_text()
    assert w.image.key not in body and "Bluebird" not in body and w.dingo.key not in body
    response = page.goto(f"/reports/billing/?month=2026-11&msp={w.tree.msp_a2.pk}")
    assert response is not None and response.status == 404


def test_vendor_staff_choose_a_distributor_and_the_msp_list_follows(page, world):
    w = world
    sign_in(page, w.tree.vendor_admin.email)
    page.goto("/reports/billing/")
    msp = page.get_by_label("MSP", exact=True)
    expect(msp.locator("option")).to_have_count(1)
    page.get_by_label("Distributor").select_option(label="Southgate Supply")
    expect(page.get_by_label("MSP", exact=True).locator("option")).to_have_count(2)
    page.get_by_label("MSP", exact=True).select_option(label="Dingo Networks")
    page.get_by_label("Month").fill("2026-11")
    page.get_by_role("button", name="View Report").click()
    expect(page.locator(".row-count")).to_have_text("1")
    expect(report_table(page)).to_contain_text(w.dingo.key)
