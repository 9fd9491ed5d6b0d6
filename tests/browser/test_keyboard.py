"""The keyboard alone: Add Key(s) from a site page with Tab, Enter and the arrow keys; Escape
closes the dialog and gives the focus back to Add Key(s); Tab stays inside the open dialog;
the arrow keys, Home and End move between the product tabs."""

import re

from playwright.sync_api import Locator, Page, expect

from keyledger.keys.models import ProductKey
from tests.browser.conftest import sign_in


def is_focused(target: Locator) -> bool:
    return target.evaluate("el => el === document.activeElement")


def tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Presses Tab until the target has the focus, as a keyboard user walks a page."""
    for _ in range(limit):
        if is_focused(target):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def open_site(page: Page, tree) -> Locator:
    sign_in(page, tree.msp_a1_admin.email)
    page.goto(f"/sites/{tree.site_a1.pk}/")
    panel = page.locator("#key-panel")
    expect(panel.get_by_role("tab", name="ShadowProtect", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    return panel


def test_add_keys_with_the_keyboard_only(page, tree):
    panel = open_site(page, tree)
    add_keys = panel.get_by_role("link", name="Add Key(s)")
    tab_to(page, add_keys)
    page.keyboard.press("Enter")
    dialog = page.locator("#add-keys-dialog")
    expect(dialog).to_be_visible()

    # The dialog opens on its first field, the Product Type; the arrow key picks the next one
    # and the form is redrawn for it with the focus where it was.
    product = dialog.get_by_label("Product Type")
    expect(product).to_be_focused()
    expect(product).to_have_value("spmsp")
    page.keyboard.press("ArrowDown")
    expect(dialog.get_by_label("ShadowStream")).to_be_visible()
    expect(dialog.get_by_label("Product Type")).to_have_value("imagemanager")
    expect(dialog.get_by_label("Product Type")).to_be_focused()

    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Quantity")).to_be_focused()
    page.keyboard.type("2")
    tab_to(page, dialog.get_by_label("ShadowStream"))
    page.keyboard.type("7")
    tab_to(page, dialog.get_by_role("button", name="Add Key(s)"))
    page.keyboard.press("Enter")

    expect(page.locator("#messages").get_by_role("status")).to_have_text("2 keys added.")
    expect(page).to_have_url(re.compile(rf"/sites/{tree.site_a1.pk}/\?product=imagemanager$"))
    expect(page.locator("#key-panel table.keys .product-key")).to_have_count(2)
    keys = ProductKey.objects.filter(site=tree.site_a1, product__code="imagemanager")
    assert [k.fields for k in keys] == [{"intelligentftp": 0, "shadowstream": 7, "headstart": 0}] * 2

    # The next tab, chosen with the arrow key, and the message has gone with the page it was for.
    tab_to(page, page.locator("#key-panel").get_by_role("tab", name="StorageCraft ImageManager"))
    page.keyboard.press("ArrowRight")
    gre = page.locator("#key-panel").get_by_role("tab", name="ShadowProtect Granular Recovery for Exchange")
    expect(gre).to_have_attribute("aria-selected", "true")
    expect(page.locator("#messages .flash")).to_have_count(0)


def test_escape_closes_the_dialog_and_the_focus_returns_to_add_keys(page, tree):
    panel = open_site(page, tree)
    add_keys = panel.get_by_role("link", name="Add Key(s)")
    tab_to(page, add_keys)
    page.keyboard.press("Enter")
    dialog = page.locator("#add-keys-dialog")
    expect(dialog).to_be_visible()

    # Tab and Shift+Tab go round the dialog's controls and never leave it.
    expect(dialog.get_by_label("Product Type")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Product Type")).to_be_focused()
    for _ in range(12):
        page.keyboard.press("Tab")
        assert dialog.evaluate("d => d.contains(document.activeElement)")

    # Escape closes it, from a select too.
    tab_to(page, dialog.get_by_label("Account/Site"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(add_keys).to_be_focused()

    # Space opens it as well (a link that acts as a button), and Cancel closes it.
    page.keyboard.press(" ")
    expect(dialog).to_be_visible()
    tab_to(page, dialog.get_by_role("button", name="Cancel"))
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(add_keys).to_be_focused()
    assert not ProductKey.objects.filter(site=tree.site_a1).exists()


def test_the_arrow_keys_move_between_the_product_tabs(page, tree):
    panel = open_site(page, tree)
    shadowprotect = panel.get_by_role("tab", name="ShadowProtect", exact=True)
    # Only the selected tab is a stop of the Tab key; the others are reached with the arrows.
    expect(panel.get_by_role("tab", name="StorageCraft ImageManager")).to_have_attribute("tabindex", "-1")
    tab_to(page, shadowprotect)

    page.keyboard.press("ArrowRight")
    imagemanager = panel.get_by_role("tab", name="StorageCraft ImageManager")
    expect(imagemanager).to_have_attribute("aria-selected", "true")
    expect(imagemanager).to_be_focused()
    expect(page).to_have_url(re.compile(r"\?product=imagemanager$"))

    page.keyboard.press("End")
    gre = panel.get_by_role("tab", name="ShadowProtect Granular Recovery for Exchange")
    expect(gre).to_have_attribute("aria-selected", "true")
    expect(gre).to_be_focused()

    page.keyboard.press("ArrowRight")  # round to the first
    expect(shadowprotect).to_have_attribute("aria-selected", "true")
    expect(shadowprotect).to_be_focused()

    page.keyboard.press("ArrowLeft")  # round to the last
    expect(gre).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Home")
    expect(shadowprotect).to_have_attribute("aria-selected", "true")
    expect(shadowprotect).to_be_focused()
    expect(shadowprotect).to_have_attribute("tabindex", "0")


def test_the_first_tab_offers_to_skip_the_top_bar(page, tree):
    sign_in(page, tree.msp_a1_admin.email)
    page.goto("/profile/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
