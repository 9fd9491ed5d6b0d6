"""A message is shown once: "2 keys added." is gone after the next product tab the user opens,
after a reload, and after going Back."""

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_a_success_message_goes_with_the_next_tab(page, tree):
    sign_in(page, tree.msp_a1_admin.email)
    page.goto(f"/sites/{tree.site_a1.pk}/")
    panel = page.locator("#key-panel")
    expect(panel.get_by_role("tab", name="ShadowProtect", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    panel.get_by_role("link", name="Add Key(s)").click()
    dialog = page.locator("#add-keys-dialog")
    dialog.get_by_label("Quantity").fill("2")
    dialog.get_by_role("button", name="Add Key(s)").click()
    messages = page.locator("#messages")
    expect(messages.get_by_role("status")).to_have_text("2 keys added.")
    expect(panel.locator("table.keys .product-key")).to_have_count(2)

    # The key list loads itself beside the message: the message stays for the user to read.
    expect(messages.get_by_role("status")).to_have_text("2 keys added.")

    panel.get_by_role("tab", name="StorageCraft ImageManager").click()
    expect(panel.get_by_role("tab", name="StorageCraft ImageManager")).to_have_attribute(
        "aria-selected", "true"
    )
    expect(messages.locator(".flash")).to_have_count(0)

    page.go_back()
    expect(panel.get_by_role("tab", name="ShadowProtect", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    expect(messages.locator(".flash")).to_have_count(0)

    page.reload()
    expect(panel.locator("table.keys .product-key")).to_have_count(2)
    expect(messages.locator(".flash")).to_have_count(0)
