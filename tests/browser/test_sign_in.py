from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_sign_in_and_out(page, tree):
    sign_in(page, tree.dist_a_admin.email)
    expect(page.get_by_text(tree.dist_a.name).first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the portal")).to_be_visible()


def test_wrong_password_is_refused_with_a_message(page, tree):
    sign_in(page, tree.dist_a_admin.email, "not the password")
    expect(page.get_by_text("That email and password do not match")).to_be_visible()
