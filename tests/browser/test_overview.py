"""The Overview in the browser: an MSP signs in, lands on it, and sees its counts, its
Critical key, its provisional month and both charts with their numbers, at 1366x768."""

import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import Page, expect

from keyledger.billing.engine import threshold
from keyledger.billing.months import local_date
from tests.billing.helpers import activated_at, sourced_at
from tests.browser.conftest import sign_in
from tests.keys.factories import call


@pytest.fixture(autouse=True)
def catalog(transactional_db):
    """The default catalog, as the migrations install it (a live-server test empties every
    table when it ends, the catalog's too)."""
    migration = importlib.import_module("keyledger.keys.migrations.0002_default_catalog")
    migration.install_catalog(apps, None)


@pytest.fixture
def acme(tree):
    now = timezone.now()
    ok = activated_at(tree.account_a1, now - timedelta(days=100), edition="server")
    call(ok, now=now - timedelta(hours=1))
    silent = activated_at(tree.account_a1, now - timedelta(days=100), code="gre")
    call(silent, now=now - timedelta(days=5))
    sourced_at(tree.account_a1, now - timedelta(days=2))
    activated_at(tree.account_a2, now - timedelta(days=100), edition="server")  # Bluebird's
    return {"ok": ok, "silent": silent}


def test_an_msp_lands_on_its_overview_and_reads_its_charts(page: Page, tree, acme):
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, tree.msp_a1_admin.email)
    expect(page).to_have_url(re.compile(r"/overview/$"))
    expect(page.get_by_role("link", name="Overview", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name=re.compile(r"^Overview"))).to_contain_text("Acme IT")

    # Keys by status: each number links to its keys.
    expect(page.locator('a[data-status="ok"] .count')).to_have_text("1")
    expect(page.locator('a[data-status="critical"] .count')).to_have_text("1")
    expect(page.locator('a[data-status="unused"] .count')).to_have_text("1")
    expect(page.locator('a[data-status="deactivated"] .count')).to_have_text("0")

    # The Critical key with its last call home, linked to its Activation Details.
    critical = page.locator("#critical-keys")
    expect(critical.get_by_role("link", name=acme["silent"].key)).to_have_attribute(
        "href", f"/keys/{acme['silent'].pk}/"
    )
    expect(critical.locator("time")).to_have_count(1)

    # This month so far, provisional; no price list yet, so no amount. Both keys have been
    # active all month: billable once the month is past its 14th day.
    provisional = page.locator("#provisional")
    expect(provisional).to_contain_text("provisional")
    if local_date(timezone.now()).day > threshold():
        expect(provisional).to_contain_text("2 billable keys as of now")
        expect(provisional).to_contain_text("2 billable keys have no price")
    else:
        expect(provisional).to_contain_text("0 billable keys as of now")
        expect(provisional).to_contain_text("No billable keys yet.")

    # Both charts arrive after the page, drawn as SVG, each with a legend and its numbers.
    daily, monthly = page.locator("#daily-chart"), page.locator("#monthly-chart")
    expect(daily).to_be_visible()
    expect(monthly).to_be_visible()
    expect(daily.locator("polyline")).to_have_count(2)
    expect(page.locator("#active-per-day .legend li")).to_have_text(["ShadowProtect", re.compile("Granular")])
    numbers = page.locator("#daily-numbers")
    expect(numbers).to_be_hidden()
    page.locator("#active-per-day summary", has_text="Show the numbers").click()
    expect(numbers).to_be_visible()
    expect(numbers.locator("tbody tr")).to_have_count(90)
    expect(numbers.locator("tbody tr").last.locator("td")).to_have_text(["1", "1", "2"])
    page.locator("#billable-per-month summary", has_text="Show the numbers").click()
    rows = page.locator("#monthly-numbers tbody tr")
    expect(rows).to_have_count(12)
    expect(rows.nth(10).locator("td")).to_have_text(["1", "1", "2"])  # last month: both billable

    # Only Acme's keys, and the page fits the screen's width.
    expect(page.locator("main")).not_to_contain_text("Bluebird")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # A number leads to its keys.
    page.locator('a[data-status="critical"]').click()
    expect(page.get_by_role("heading", name=re.compile("Critical keys"))).to_be_visible()
    expect(page.locator("#overview-keys")).to_contain_text(acme["silent"].key)
