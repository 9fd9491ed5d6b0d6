"""Forgot your password, in the browser: ask, follow the emailed link, choose a new
password, sign in with it."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

NEW = "a fresh long passphrase"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_forgotten_password_is_reset_by_email(page, tree):
    user = tree.msp_a1_admin
    page.goto("/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(user.email.upper())
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    (message,) = mail.outbox
    assert message.to == [user.email]
    path = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body).group(1)
    page.goto(path)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    # The policy is on the page before anything is typed.
    expect(page.get_by_text("at least 10 characters")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("too short")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("Your password has been changed")).to_be_visible()

    # The link is spent; the old password no longer works; the new one does.
    page.goto(path)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    sign_in(page, user.email)
    expect(page.get_by_text("That email and password do not match")).to_be_visible()
    sign_in(page, user.email, NEW)
    expect(page.get_by_text(tree.msp_a1.name).first).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
