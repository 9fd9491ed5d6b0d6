"""The browser's time zone: taken at the first sign-in of a user who has none, and offered on
the profile to one who chose another; pages then show local times with UTC in the tooltip."""

import re

from playwright.sync_api import expect

from keyledger.organisations.models import User
from tests.browser.conftest import sign_in


def test_the_first_sign_in_takes_the_browser_zone_and_pages_show_local_times(browser, live_server, tree):
    user = tree.msp_a1_member
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Berlin")
    try:
        page = context.new_page()
        sign_in(page, user.email)
        expect(page.get_by_role("link", name=user.email)).to_be_visible()
        assert User.objects.get(pk=user.pk).time_zone == "Europe/Berlin"

        page.get_by_role("link", name=user.email).click()
        expect(page.get_by_role("combobox", name="Time zone")).to_have_value("Europe/Berlin")
        # The sessions table: local time, and UTC when pointed at.
        signed_in = page.get_by_role("region", name="Sessions").locator("time").first
        expect(signed_in).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d CES?T$"))
        expect(signed_in).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
        # The browser's zone is the chosen one: nothing to offer.
        expect(page.get_by_text("Your browser says")).to_be_hidden()
    finally:
        context.close()


def test_the_profile_offers_the_browser_zone_to_one_who_chose_another(page, tree):
    user = tree.msp_a1_member
    User.objects.filter(pk=user.pk).update(time_zone="Asia/Tokyo")
    sign_in(page, user.email)
    page.goto("/profile/")
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    expect(page.get_by_role("combobox", name="Time zone")).to_have_value("Asia/Tokyo")
    offer = page.get_by_text("Your browser says")
    expect(offer).to_contain_text(zone)
    offer.get_by_role("button", name="Use it").click()
    expect(page.get_by_role("status")).to_have_text(f"Times are shown in {zone}.")
    expect(page.get_by_role("combobox", name="Time zone")).to_have_value(zone)
    assert User.objects.get(pk=user.pk).time_zone == zone


def test_choose_a_zone_with_the_select(page, tree):
    user = tree.msp_a1_member
    sign_in(page, user.email)
    page.goto("/profile/")
    page.get_by_role("combobox", name="Time zone").select_option("Pacific/Auckland")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_role("status")).to_have_text("Times are shown in Pacific/Auckland.")
    expect(page.get_by_role("region", name="Sessions").locator("time").first).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d NZ[DS]T$")
    )
