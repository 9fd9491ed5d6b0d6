"""Price lists in Chromium: a distributor creates Acme's list in EUR and adds prices (the item
choice following the product), and Acme reads its own prices, read-only."""

import re

from django.utils import timezone
from playwright.sync_api import Page, expect

from keyledger.billing.models import Price, PriceList
from keyledger.billing.months import Month
from tests.browser.conftest import sign_in

SPMSP = "ShadowProtect for Managed Service Providers (SP-MSP)"
IMAGEMANAGER = "StorageCraft ImageManager"


def add_a_price(page: Page, product: str, item: str, month: Month, price: str, items: int) -> None:
    page.get_by_label("Product", exact=True).select_option(label=product)
    # htmx redraws the item choice with the product's own items.
    expect(page.get_by_label("Item", exact=True).locator("option")).to_have_count(items)
    page.get_by_label("Item", exact=True).select_option(label=item)
    page.get_by_label("From month", exact=True).fill(str(month))
    page.get_by_label("Price", exact=True).fill(price)
    page.get_by_role("button", name="Add price").click()


def test_a_distributor_keeps_acmes_prices_and_acme_reads_them(tree, page):
    this_month = Month.of(timezone.now())
    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="Price lists").click()
    expect(page.get_by_role("heading", name="Price lists you issue")).to_be_visible()
    acme_row = page.get_by_role("row", name=re.compile(r"^Acme IT"))
    expect(acme_row).to_contain_text("No price list")
    acme_row.get_by_role("link", name=re.compile("New price list")).click()

    expect(page.get_by_label("Customer", exact=True)).to_have_value(str(tree.msp_a1.pk))
    page.get_by_label("Currency", exact=True).fill("EUR")
    page.get_by_role("button", name="Create price list").click()
    expect(page.get_by_text("Price list for Acme IT created in EUR.")).to_be_visible()
    expect(page.get_by_role("heading", name="Price list of Acme IT")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^Server\b"))).to_contain_text("No price")

    add_a_price(page, SPMSP, "Server", this_month, "25.00", items=4)
    expect(page.get_by_text(f"ShadowProtect Server: 25.00 EUR from {this_month.label}.")).to_be_visible()
    add_a_price(page, IMAGEMANAGER, "ShadowStream", this_month, "1.50", items=3)
    expect(
        page.get_by_text(f"StorageCraft ImageManager ShadowStream: 1.50 EUR from {this_month.label}.")
    ).to_be_visible()

    prices = page.get_by_role("table").filter(has_text="Next change")
    expect(prices.get_by_role("row", name=re.compile(r"^Server\b"))).to_contain_text(
        f"25.00 EUR {this_month.label}"
    )
    expect(prices.get_by_role("row", name=re.compile(r"^ShadowStream\b"))).to_contain_text("1.50 EUR")
    expect(prices.get_by_role("row", name=re.compile(r"^Desktop\b"))).to_contain_text("No price")
    history = page.get_by_role("table").filter(has_text="Added")
    expect(history.get_by_role("row")).to_have_count(3)  # the header and the two prices
    price_list = PriceList.objects.get(customer=tree.msp_a1)
    assert price_list.currency == "EUR"
    assert sorted(Price.objects.filter(price_list=price_list).values_list("item", "unit_minor")) == [
        ("server", 2500),
        ("shadowstream", 150),
    ]

    # A bad price is a field error next to the field, and nothing is written.
    add_a_price(page, SPMSP, "Server", this_month, "9.999", items=4)
    expect(page.get_by_text("EUR prices have at most 2 decimals.")).to_be_visible()
    assert Price.objects.filter(price_list=price_list).count() == 2

    page.get_by_role("link", name="Price lists").first.click()
    expect(page.get_by_role("row", name=re.compile(r"^Acme IT"))).to_contain_text("EUR 2 View prices")

    # Acme sees its own prices, read-only.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, tree.msp_a1_admin.email)
    page.get_by_role("link", name="Price lists").click()
    expect(page.get_by_role("heading", name="Price lists you issue")).to_have_count(0)
    page.get_by_role("link", name="View your prices").click()
    expect(page.get_by_role("heading", name="Your prices", exact=True)).to_be_visible()
    expect(
        page.get_by_text("Read-only: the organisation that bills Acme IT keeps this list.")
    ).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^Server\b")).first).to_contain_text("25.00 EUR")
    expect(page.get_by_role("button", name="Add price")).to_have_count(0)
    expect(page.get_by_text("Northwind")).to_have_count(0)
