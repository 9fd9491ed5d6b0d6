"""Two-factor authentication in the browser: set up from the profile by reading the setup
key off the page, as a person would type it into an app; then sign in with a code, and with
a recovery code."""

from base64 import b32decode

from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in


def app_code(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the setup key (base32, in groups, as on the page)."""
    key = b32decode(secret.replace(" ", "").upper())
    return f"{TOTP(key, drift=steps_ahead).token():06d}"


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the portal")).to_be_visible()


def test_set_up_then_sign_in_with_a_code_and_with_a_recovery_code(page, tree):
    user = tree.msp_a1_admin
    sign_in(page, user.email)
    page.get_by_role("link", name=user.email).click()
    page.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page.get_by_role("img", name="QR code of the secret")).to_be_visible()
    secret = page.get_by_label("Setup key").inner_text()
    page.get_by_label("Code from your app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have kept them safe").click()
    expect(page.get_by_text("Recovery codes left: 10")).to_be_visible()
    sign_out(page)

    # The code the app shows next: this step's code was spent on setting it up.
    sign_in(page, user.email)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(app_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(tree.msp_a1.name).first).to_be_visible()
    sign_out(page)

    sign_in(page, user.email)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("You signed in with a recovery code; 9 left.")).to_be_visible()
    sign_out(page)

    # A recovery code works once.
    sign_in(page, user.email)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()


def test_a_distributor_requires_it_of_its_msps_and_an_msp_user_sets_it_up_and_signs_in(page, tree):
    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="Security").click()
    msps = page.get_by_role("region", name="Users of Northwind Distribution's MSPs")
    msps.get_by_role("button", name="Require two-factor authentication").click()
    expect(page.get_by_text("Two-factor authentication is required from")).to_be_visible()
    sign_out(page)

    # From today on, Acme's user must set it up before anything else.
    user = tree.msp_a1_member
    sign_in(page, user.email)
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(
        page.get_by_text("Northwind Distribution requires two-factor authentication.").first
    ).to_be_visible()
    page.goto("/overview/")
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    secret = page.get_by_label("Setup key").inner_text()
    page.get_by_label("Code from your app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.get_by_role("link", name="I have kept them safe").click()
    expect(page.get_by_text("Recovery codes left: 10")).to_be_visible()
    expect(page.get_by_role("link", name="Turn off")).to_have_count(0)
    sign_out(page)

    sign_in(page, user.email)
    page.get_by_label("Code").fill(app_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(tree.msp_a1.name).first).to_be_visible()
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_have_count(0)
