"""Onboarding through the browser: a vendor creates a distributor whose first login sets a
password; a distributor creates an MSP and invites another, which completes its account."""

from django.core import mail
from playwright.sync_api import Page, expect

from keyledger.organisations.models import Organisation, TermsAcceptance, User
from tests.browser.conftest import sign_in
from tests.organisations.helpers import STRONG_PASSWORD, invitation_path


def emailed_link() -> str:
    assert mail.outbox, "no email was sent"
    return invitation_path(mail.outbox[-1].body)


def wait_for_email(page: Page, count: int) -> None:
    # The live server sends after its transaction commits, in its own thread.
    for _ in range(50):
        if len(mail.outbox) >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"expected {count} email(s), got {len(mail.outbox)}")


def set_password(page: Page) -> None:
    page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_label("Password again").fill(STRONG_PASSWORD)


def test_vendor_creates_a_distributor_whose_first_login_sets_a_password(page, tree):
    mail.outbox.clear()
    sign_in(page, tree.vendor_admin.email)
    page.get_by_role("link", name="Distributors").click()
    page.get_by_role("link", name="New Distributor").click()
    page.get_by_label("Name", exact=True).fill("Eastwood Trade")
    page.get_by_label("Region").fill("North America")
    page.get_by_label("May invite MSPs (portal access)").check()
    page.get_by_label("City").fill("Boston")
    page.get_by_label("Country").fill("USA")
    page.get_by_label("First login email").fill("erin@eastwood.test")
    page.get_by_label("First login name").fill("Erin East")
    page.get_by_role("button", name="Create distributor").click()

    expect(page.get_by_role("status")).to_contain_text("Distributor Eastwood Trade created")
    row = page.get_by_role("row").filter(has_text="Eastwood Trade")
    expect(row).to_contain_text("First login pending")
    expect(row).to_contain_text("North America")

    wait_for_email(page, 1)
    assert mail.outbox[-1].to == ["erin@eastwood.test"]
    page.get_by_role("button", name="Sign out").click()
    page.goto(emailed_link())
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    page.get_by_label("Full name").fill("Erin East")
    set_password(page)
    page.get_by_label("I accept the Terms of Service").check()
    page.get_by_role("button", name="Set password and sign in").click()

    expect(page.get_by_role("status")).to_contain_text("Welcome to the portal, Erin East.")
    expect(page.locator(".who .org")).to_have_text("Eastwood Trade")
    user = User.objects.get(email="erin@eastwood.test")
    assert user.organisation.portal_access == Organisation.PortalAccess.ACTIVE


def test_distributor_creates_a_new_msp(page, tree):
    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="MSPs").click()
    page.get_by_role("link", name="New MSP").click()
    page.get_by_label("Name").fill("Delta Tech")
    page.get_by_label("City").fill("York")
    page.get_by_label("State").fill("North Yorkshire")
    page.get_by_label("Country").fill("UK")
    page.get_by_label("Postal code").fill("YO1 7HH")
    page.get_by_role("button", name="Create MSP").click()

    # It lands on the new MSP's page, with its next steps.
    expect(page.get_by_role("status")).to_contain_text("MSP Delta Tech created")
    expect(page.get_by_role("heading", name="Delta Tech MSP")).to_be_visible()
    expect(page.get_by_role("link", name="Grant portal access")).to_be_visible()
    expect(page.get_by_role("link", name="Invite its people")).to_be_visible()
    page.get_by_role("link", name="Manage its keys").click()
    expect(page.get_by_role("heading", name="Key Management · Delta Tech")).to_be_visible()
    page.get_by_role("link", name="Add your first account").click()
    expect(page.get_by_role("heading", name="New Account Detail")).to_be_visible()

    page.get_by_role("link", name="MSPs").click()
    row = page.get_by_role("row").filter(has_text="Delta Tech")
    expect(row).to_contain_text("No portal access")
    expect(row).to_contain_text("York, UK")


def test_distributor_invites_an_msp_that_completes_its_account(page, tree):
    mail.outbox.clear()
    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="MSPs").click()
    page.get_by_role("link", name="Invite", exact=True).click()
    page.get_by_label("Email").fill("fay@falcon.test")
    page.get_by_label("Name", exact=True).fill("Fay Falcon")
    page.get_by_label("Company").fill("Falcon")
    page.get_by_label("City").fill("Leeds")
    page.get_by_label("Country").fill("UK")
    page.get_by_label("Postal code").fill("LS1")
    expect(page.get_by_label("Region")).to_have_value("EMEA")
    page.get_by_role("button", name="Invite").click()

    expect(page.get_by_role("status")).to_contain_text("Falcon is invited")
    expect(page.get_by_role("row").filter(has_text="Falcon")).to_contain_text("Invited")
    wait_for_email(page, 1)
    page.get_by_role("button", name="Sign out").click()

    page.goto(emailed_link())
    expect(page.get_by_role("heading", name="Completing the invitation")).to_be_visible()
    expect(page.get_by_label("Company name")).to_have_value("Falcon")
    page.get_by_label("Company name").fill("Falcon IT Ltd")
    page.get_by_label("State").fill("West Yorkshire")
    page.get_by_label("Postal code").fill("LS1 4AP")
    expect(page.get_by_label("Full name")).to_have_value("Fay Falcon")
    set_password(page)
    page.get_by_role("button", name="Complete my account").click()
    # Forgot the Terms: the error is next to the checkbox and nothing was created.
    expect(page.locator("#id_accept_terms_error")).to_be_visible()
    set_password(page)
    expect(page.get_by_text("Use the portal fairly.")).to_be_visible()
    page.get_by_label("I accept the Terms of Service").check()
    page.get_by_role("button", name="Complete my account").click()

    expect(page.get_by_role("status")).to_contain_text("Welcome to the portal, Fay Falcon.")
    expect(page.locator(".who .org")).to_have_text("Falcon IT Ltd")
    user = User.objects.get(email="fay@falcon.test")
    assert TermsAcceptance.objects.filter(user=user, terms=tree.terms).exists()
    assert user.organisation.portal_access == Organisation.PortalAccess.ACTIVE
