import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture(autouse=True)
def _empty_cache():
    # Wrong passwords are counted in the cache, which the in-process live server shares.
    cache.clear()
    yield
    cache.clear()


def test_sign_in_and_out(page, tree):
    sign_in(page, tree.dist_a_admin.email)
    expect(page.get_by_text(tree.dist_a.name).first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the portal")).to_be_visible()


def test_wrong_password_is_refused_with_a_message(page, tree):
    sign_in(page, tree.dist_a_admin.email, "not the password")
    expect(page.get_by_text("That email and password do not match")).to_be_visible()


def test_wrong_passwords_pause_signing_in(page, tree):
    for _ in range(5):
        sign_in(page, tree.dist_a_member.email, "not the password")
    expect(page.get_by_text("Signing in is paused for 1 minute")).to_be_visible()
    sign_in(page, tree.dist_a_member.email)
    expect(page.get_by_text("Signing in is paused")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in to the portal")).to_be_visible()


def test_sign_out_other_sessions(page, browser, live_server, tree):
    user = tree.dist_a_admin
    other_context = browser.new_context(base_url=live_server.url, user_agent=FIREFOX_MAC)
    try:
        other = other_context.new_page()
        sign_in(other, user.email)
        sign_in(page, user.email)
        page.get_by_role("link", name=user.email).click()
        sessions = page.get_by_role("region", name="Sessions")
        expect(sessions.get_by_text("Firefox on macOS")).to_be_visible()
        expect(sessions.get_by_text("This session")).to_have_count(1)
        sessions.get_by_role("button", name="Sign out other sessions").click()
        expect(page.get_by_text("Signed out 1 other session.")).to_be_visible()
        expect(page.get_by_text("Firefox on macOS")).to_have_count(0)
        # The other browser is signed out on its next click.
        other.reload()
        expect(other.get_by_role("heading", name="Sign in to the portal")).to_be_visible()
    finally:
        other_context.close()
