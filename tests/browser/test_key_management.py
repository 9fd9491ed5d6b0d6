import re

import pytest
from playwright.sync_api import Page, expect

from keyledger.audit.actor import Actor
from keyledger.customers.models import Account, Site
from keyledger.keys.actions import source_keys
from keyledger.keys.models import Product
from keyledger.testing.keys import make_critical
from keyledger.testing.tree import make_account, make_site
from tests.browser.conftest import sign_in


def accounts_sites(page: Page):
    return page.locator("#accounts-sites")


def detail(page: Page):
    return page.locator("#detail-panel")


def test_msp_user_adds_an_account(page, tree):
    sign_in(page, tree.msp_a1_admin.email)
    page.get_by_role("link", name="Key Management").click()
    expect(page.get_by_role("heading", name="Accounts/Sites")).to_be_visible()

    accounts_sites(page).get_by_role("link", name="Add Account").click()
    expect(detail(page).get_by_role("heading", name="New Account Detail")).to_be_visible()
    page.get_by_label("Account Name").fill("Echo Clinic")
    page.get_by_label("Address").fill("1 High Street")
    page.get_by_label("Notes").fill("Primary contact: Ann")
    detail(page).get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text("Account “Echo Clinic” added.")
    expect(detail(page).get_by_role("heading", name="Account Detail")).to_be_visible()
    expect(accounts_sites(page).get_by_role("link", name="Echo Clinic")).to_have_attribute(
        "aria-current", "true"
    )
    account = Account.objects.get(msp=tree.msp_a1, name="Echo Clinic")
    expect(page).to_have_url(re.compile(rf"/accounts/{account.pk}/$"))
    assert account.notes == "Primary contact: Ann"


def test_msp_user_is_told_when_an_account_name_is_taken(page, tree):
    sign_in(page, tree.msp_a1_admin.email)
    page.goto(f"/msps/{tree.msp_a1.pk}/accounts/new/")

    page.get_by_label("Account Name").fill("alpha DENTAL")
    detail(page).get_by_role("button", name="Save").click()

    expect(detail(page).locator("#id_name_error")).to_contain_text("already has an account named")
    page.get_by_label("Account Name").fill("Alpha Dental West")
    detail(page).get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Account “Alpha Dental West” added.")


def test_msp_user_adds_a_site_to_the_selected_account(page, tree):
    sign_in(page, tree.msp_a1_admin.email)
    page.goto(f"/msps/{tree.msp_a1.pk}/key-management/")

    accounts_sites(page).get_by_role("link", name="Alpha Dental", exact=True).click()
    expect(detail(page).get_by_role("heading", name="Account Detail")).to_be_visible()
    # The panel is redrawn with the selection (and Add Site's account) once htmx has settled.
    expect(accounts_sites(page).get_by_role("link", name="Alpha Dental", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    expect(accounts_sites(page).get_by_role("link", name="Add Site")).to_have_attribute(
        "href", f"/msps/{tree.msp_a1.pk}/sites/new/?account={tree.account_a1.pk}"
    )
    page.wait_for_load_state("networkidle")
    accounts_sites(page).get_by_role("link", name="Add Site").click()
    expect(detail(page).get_by_role("heading", name="New Site Detail")).to_be_visible()
    expect(page.get_by_label("Account", exact=True)).to_have_value(str(tree.account_a1.pk))
    page.get_by_label("Site Name").fill("Alpha Dental Annex")
    page.get_by_label("Address").fill("3 Side Street")
    detail(page).get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text(
        "Site “Alpha Dental Annex” added to account “Alpha Dental”."
    )
    expect(detail(page).get_by_role("heading", name="Site Detail")).to_be_visible()
    tree_link = accounts_sites(page).get_by_role("link", name="Alpha Dental Annex")
    expect(tree_link).to_be_visible()
    expect(tree_link).to_have_attribute("aria-current", "true")
    assert Site.objects.get(name="Alpha Dental Annex").account == tree.account_a1


def test_msp_user_moves_a_site_to_another_account(page, tree):
    target = Account.objects.create(msp=tree.msp_a1, name="Foxtrot Bakery")
    sign_in(page, tree.msp_a1_admin.email)
    page.goto(f"/msps/{tree.msp_a1.pk}/key-management/")

    # Sites are folded away until the + beside their account is clicked.
    # A marker on the window survives htmx swaps and dies with a full page load.
    page.evaluate("window.keyledgerSamePage = true")
    site_link = accounts_sites(page).get_by_role("link", name=tree.site_a1.name)
    expect(site_link).to_be_hidden()
    accounts_sites(page).get_by_role("button", name="Sites of Alpha Dental").click()
    site_link.click()
    expect(detail(page).get_by_role("heading", name="Site Detail")).to_be_visible()
    # The details are a summary, keys first; Edit opens the form in its place.
    detail(page).get_by_role("link", name="Edit").click()
    page.get_by_label("Account", exact=True).select_option(label="Foxtrot Bakery")
    detail(page).get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text(
        "Site “Alpha Dental Main Street” moved to account “Foxtrot Bakery”."
    )
    foxtrot = accounts_sites(page).locator(".tree-account", has_text="Foxtrot Bakery")
    expect(foxtrot.get_by_role("button", name="Sites of Foxtrot Bakery")).to_have_attribute(
        "aria-expanded", "true"
    )
    expect(foxtrot.get_by_role("link", name=tree.site_a1.name)).to_have_attribute("aria-current", "true")
    expect(page).to_have_url(re.compile(rf"/sites/{tree.site_a1.pk}/$"))
    assert page.evaluate("window.keyledgerSamePage") is True
    tree.site_a1.refresh_from_db()
    assert tree.site_a1.account == target


def test_distributor_picks_its_msp_and_moves_a_site(page, tree):
    target = Account.objects.create(msp=tree.msp_a3, name="Golf Estates")
    site = Site.objects.create(account=tree.account_a3, name="Charlie Farms Barn")
    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="Key Management").click()

    page.get_by_label("Search MSPs").fill("cobalt")
    expect(page.locator("#msp-list").get_by_role("link", name=tree.msp_a1.name)).to_have_count(0)
    page.locator("#msp-list").get_by_role("link", name=tree.msp_a3.name).click()
    expect(page.get_by_role("heading", name=f"Key Management · {tree.msp_a3.name}")).to_be_visible()
    accounts_sites(page).get_by_role("button", name="Sites of Charlie Farms").click()
    accounts_sites(page).get_by_role("link", name="Charlie Farms Barn").click()
    detail(page).get_by_role("link", name="Edit").click()
    page.get_by_label("Account", exact=True).select_option(label="Golf Estates")
    page.get_by_label("Notes").fill("Moved with the herd")
    detail(page).get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text(
        "Site “Charlie Farms Barn” moved to account “Golf Estates”."
    )
    expect(page).to_have_url(re.compile(rf"/sites/{site.pk}/$"))
    site.refresh_from_db()
    assert (site.account, site.notes) == (target, "Moved with the herd")


def test_read_only_user_browses_without_controls(page, tree):
    sign_in(page, tree.dist_a_readonly.email)
    page.goto(f"/msps/{tree.msp_a1.pk}/key-management/")

    accounts_sites(page).get_by_role("link", name="Alpha Dental", exact=True).click()

    expect(detail(page).get_by_role("heading", name="Account Detail · Alpha Dental")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(detail(page).get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("link", name="Add Account")).to_have_count(0)


# --- the layout: keys first, nothing wider than the window --------------------------------


def _long_named_site_with_keys(tree) -> Site:
    """A site whose names are long and whose account has a long address and notes, with keys,
    one of them Critical (silent past its threshold: state_at says Critical before the sweeper)."""
    account = make_account(
        tree.msp_a1,
        "Alpha Dental Holdings International Partnership of Northern Regional Clinics Limited",
        address="Unit 4, The Old Brewery Yard\n12 Long Lane\nSouthampton\nSO14 2AB\nUnited Kingdom",
        notes="Contact the practice manager before any change. " * 12,
    )
    site = make_site(account, "Main Street Surgery and Orthodontics Referral Centre, Second Floor West Wing")
    keys = source_keys(
        product=Product.objects.get(code="spmsp"),
        quantity=3,
        account=account,
        site=site,
        fields={},
        actor=Actor.system(),
    )
    make_critical(keys[0])
    return site


def _fits(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide in a {width[1]} px window"


@pytest.mark.parametrize("width", [1366, 1024])
def test_the_keys_of_a_site_show_without_scrolling_and_no_page_overflows(page, tree, width):
    site = _long_named_site_with_keys(tree)
    page.set_viewport_size({"width": width, "height": 768})
    sign_in(page, tree.dist_a_admin.email)

    page.goto(f"/sites/{site.pk}/")
    first_key = page.locator("table.keys tbody tr").first
    expect(first_key).to_be_visible()
    box = first_key.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 768, box
    assert page.evaluate("window.scrollY") == 0
    _fits(page)

    for url in (
        "/key-management/",
        f"/msps/{tree.msp_a1.pk}/key-management/",
        f"/accounts/{site.account_id}/",
        f"/msps/{tree.msp_a1.pk}/accounts/new/?account={site.account_id}",
        f"/msps/{tree.msp_a1.pk}/sites/new/?account={site.account_id}",
        f"/sites/{site.pk}/?edit=1",
    ):
        page.goto(url)
        _fits(page)


def test_a_distributor_reaches_a_critical_key_in_two_clicks(page, tree):
    site = _long_named_site_with_keys(tree)
    sign_in(page, tree.dist_a_admin.email)
    page.goto("/key-management/")

    page.get_by_label("Only MSPs with Critical keys").check()
    msp_list = page.locator("#msp-list")
    expect(msp_list.get_by_role("link", name=tree.msp_a3.name)).to_have_count(0)
    msp_list.get_by_role("link", name="1 Critical").click()  # click 1: the MSP's page
    expect(page.get_by_role("heading", name=f"Key Management · {tree.msp_a1.name}")).to_be_visible()
    alarm = (
        accounts_sites(page)
        .locator(".tree-row", has_text="Alpha Dental Holdings")
        .get_by_role("link", name="1 Critical")
    )
    expect(alarm).to_have_attribute("title", "1 Critical key")
    alarm.click()  # click 2: the account's keys, filtered to Critical
    expect(page).to_have_url(re.compile(rf"/accounts/{site.account_id}/\?status=critical$"))
    expect(page.locator("table.keys tbody tr").first).to_be_visible()


def test_edit_opens_the_form_in_place_and_cancel_closes_it(page, tree):
    sign_in(page, tree.msp_a1_admin.email)
    page.goto(f"/accounts/{tree.account_a1.pk}/")
    page.evaluate("window.keyledgerSamePage = true")

    detail(page).get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Account Name")).to_have_value("Alpha Dental")
    detail(page).get_by_role("link", name="Cancel").click()
    expect(detail(page).get_by_role("heading", name="Account Detail · Alpha Dental")).to_be_visible()
    expect(page.get_by_label("Account Name")).to_have_count(0)

    detail(page).get_by_role("link", name="Edit").click()
    page.get_by_label("Account Name").fill("Alpha Dental Group")
    detail(page).get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Account “Alpha Dental Group” saved.")
    expect(detail(page).get_by_role("heading", name="Account Detail · Alpha Dental Group")).to_be_visible()
    expect(accounts_sites(page).get_by_role("link", name="Alpha Dental Group", exact=True)).to_be_visible()
    assert page.evaluate("window.keyledgerSamePage") is True


def test_the_picker_sorts_by_a_heading_and_shows_where_it_is(page, tree):
    _long_named_site_with_keys(tree)
    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, tree.dist_a_admin.email)
    page.goto("/key-management/")

    expect(page.locator(".list-total")).to_have_text("Page 1 of 1 · 3 MSPs")
    critical = page.get_by_role("columnheader", name="Critical keys")
    expect(critical).to_have_attribute("aria-sort", "none")
    critical.get_by_role("link").click()
    expect(critical).to_have_attribute("aria-sort", "ascending")
    critical.get_by_role("link").click()
    expect(critical).to_have_attribute("aria-sort", "descending")
    expect(page).to_have_url(re.compile(r"\?sort=-critical$"))
    expect(page.locator("table.msp-picker tbody tr").first).to_contain_text(tree.msp_a1.name)
