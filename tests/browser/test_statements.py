"""Statements in Chromium: a distributor opens last month's draft statement for Acme,
finalises it, sees its number and hash, downloads the CSV file and opens it."""

import csv
import io
from datetime import timedelta

from django.utils import timezone

from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements import close_month
from keyledger.testing.billing import active_key, set_price
from tests.browser.conftest import sign_in


def test_a_distributor_finalises_acmes_statement_and_downloads_it(tree, page, final_statements_removable):
    last = Month.of(timezone.now()).previous
    active_key(tree.account_a1, last.start - timedelta(days=5), site=tree.site_a1)
    active_key(tree.account_a1, last.start - timedelta(days=5), edition="desktop")
    set_price(tree.msp_a1, "spmsp", "server", 2500, month=last)
    set_price(tree.msp_a1, "spmsp", "desktop", 1999, month=last)
    close_month(month=last)

    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="Statements").click()
    page.get_by_role("heading", name="Statements").wait_for()
    row = page.get_by_role("row").filter(has_text="Acme IT")
    assert "Draft (provisional)" in row.inner_text()
    row.get_by_role("link", name="Draft").click()

    page.get_by_role("heading", name="Draft statement").wait_for()
    assert "Provisional." in page.content()
    assert "44.99 EUR" in page.get_by_role("table", name="Lines").inner_text()
    page.get_by_role("link", name="Finalise").click()
    page.get_by_role("heading", name=f"Finalise the statement of Acme IT for {last.label}?").wait_for()
    page.get_by_role("button", name="Finalise").click()

    statement = Statement.objects.get(customer=tree.msp_a1, month=last.first_day)
    number = f"ND-{last.year:04d}-{last.month:02d}-0001"
    assert (statement.status, statement.number) == ("final", number)
    page.get_by_role("heading", name=f"Statement {number}").wait_for()
    assert f"Statement {number} is final." in page.content()
    assert statement.content_sha256 in page.content()
    assert "Provisional" not in page.content()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV file").click()
    assert download.value.suggested_filename == f"statement-{number}.csv"
    with open(download.value.path(), encoding="utf-8") as file:
        rows = list(csv.reader(io.StringIO(file.read())))
    assert rows[0][:5] == ["Statement", "Month", "Status", "Line", "Kind"]
    assert {row[0] for row in rows[1:]} == {number}
    assert rows[-1][4:10] == ["Total", "Total EUR", "", "", "44.99", "EUR"]
