"""Every tab of the top bar, for vendor staff, a distributor and an MSP: each opens its page,
marked as the current one, with the keyboard (and each page passes axe, tests/browser/axe.py)."""

import pytest
from playwright.sync_api import expect

from keyledger.portal.navigation import tabs_for
from tests.browser.conftest import sign_in


@pytest.mark.parametrize("who", ["vendor_admin", "dist_a_admin", "msp_a1_admin"])
def test_every_tab_of_the_top_bar(page, tree, who):
    user = getattr(tree, who)
    sign_in(page, user.email)
    expect(page.get_by_role("link", name=user.email)).to_be_visible()
    labels = [tab["label"] for tab in tabs_for(user)]
    assert "Audit log" in labels or who == "msp_a1_admin"
    bar = page.get_by_role("navigation", name="Portal")
    for label in labels:
        link = bar.get_by_role("link", name=label, exact=True)
        link.focus()
        page.keyboard.press("Enter")
        expect(bar.get_by_role("link", name=label, exact=True)).to_have_attribute("aria-current", "page")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("link", name=user.email).click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
