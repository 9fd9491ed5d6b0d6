"""The emailed link's page: public, single use, clear pages for dead links, never a 500."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from keyledger.organisations import actions
from keyledger.organisations.models import Organisation, TermsAcceptance, User
from tests.organisations.helpers import STRONG_PASSWORD, actor_for, invitation_path


@pytest.fixture
def msp_link(tree, mailoutbox, django_capture_on_commit_callbacks):
    """The path of the link an invited MSP received by email."""
    with django_capture_on_commit_callbacks(execute=True):
        actions.invite_msp(
            distributor=tree.dist_a,
            email="owner@falcon.test",
            name="Fay Falcon",
            company="Falcon",
            city="Leeds",
            state="",
            country="UK",
            postal_code="LS1",
            region="",
            actor=actor_for(tree.dist_a_admin),
        )
    return invitation_path(mailoutbox[-1].body)


def completed(tree, **overrides):
    return {
        "company": "Falcon IT Ltd",
        "city": "Leeds",
        "state": "West Yorkshire",
        "country": "UK",
        "postal_code": "LS1 4AP",
        "full_name": "Fay Falcon",
        "password": STRONG_PASSWORD,
        "password_again": STRONG_PASSWORD,
        "terms_version": str(tree.terms.pk),
        "accept_terms": "on",
    } | overrides


def test_the_page_asks_for_details_password_and_terms(tree, client, msp_link):
    response = client.get(msp_link)
    assert response.status_code == 200
    body = response.text
    assert "Northwind Distribution invited Falcon to the portal" in body
    assert "Company name" in body and "Postal code" in body and "Full name" in body and "Password" in body
    assert "Use the portal fairly." in body and "I accept the Terms of Service" in body
    assert 'value="Falcon"' in body and 'value="Fay Falcon"' in body


def test_completing_signs_in_and_lands_in_the_portal(tree, client, msp_link):
    response = client.post(msp_link, completed(tree), REMOTE_ADDR="192.0.2.44", follow=True)
    user = User.objects.get(email="owner@falcon.test")
    assert response.wsgi_request.user == user
    assert response.redirect_chain[0][0] == reverse("portal:home")
    assert "Welcome to the portal, Fay Falcon." in [str(m) for m in response.context["messages"]]
    msp = user.organisation
    assert (msp.name, msp.state, msp.postal_code, msp.portal_access) == (
        "Falcon IT Ltd",
        "West Yorkshire",
        "LS1 4AP",
        Organisation.PortalAccess.ACTIVE,
    )
    assert TermsAcceptance.objects.get(user=user).ip_address == "192.0.2.44"


def test_field_errors_are_shown_next_to_the_fields(tree, client, msp_link):
    response = client.post(
        msp_link, completed(tree, company="", password_again="something else", accept_terms="")
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"company", "password_again", "accept_terms"}
    assert 'id="id_company_error"' in response.text and 'id="id_password_again_error"' in response.text
    assert not User.objects.filter(email="owner@falcon.test").exists()


def test_a_weak_password_is_refused_next_to_the_password(tree, client, msp_link):
    response = client.post(msp_link, completed(tree, password="falcon", password_again="falcon"))
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert client.get(msp_link).status_code == 200  # the link still works


def test_terms_changed_while_reading(tree, client, msp_link):
    actions.publish_terms(text="Version two text.", actor=actor_for(tree.vendor_admin))
    response = client.post(msp_link, completed(tree))
    assert response.status_code == 200
    assert "changed while you were reading" in response.text and "Version two text." in response.text
    assert not User.objects.filter(email="owner@falcon.test").exists()


def test_a_used_link_gets_410(tree, client, msp_link):
    client.post(msp_link, completed(tree))
    client.logout()
    for method in (client.get, client.post):
        response = method(msp_link, completed(tree))
        assert response.status_code == 410
        assert "already been used" in response.text


def test_an_expired_link_gets_410(tree, client, msp_link, time_machine):
    time_machine.move_to(timezone.now() + timedelta(days=8))
    response = client.get(msp_link)
    assert response.status_code == 410 and "expired" in response.text


def test_a_revoked_link_gets_410(tree, client, msp_link):
    msp = Organisation.objects.get(name="Falcon")
    actions.withdraw_portal_access(msp=msp, actor=actor_for(tree.dist_a_admin))
    response = client.get(msp_link)
    assert response.status_code == 410 and "withdrawn" in response.text


def test_an_unknown_link_gets_404(tree, client):
    response = client.get(reverse("portal:invitation", kwargs={"token": "nope"}))
    assert response.status_code == 404 and "does not belong to any invitation" in response.text


def test_first_login_of_a_distributor(tree, client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        actions.create_distributor(
            parent=tree.vendor,
            name="Eastwood",
            region="NA",
            admin_email="erin@eastwood.test",
            admin_name="Erin",
            actor=actor_for(tree.vendor_admin),
        )
    link = invitation_path(mailoutbox[0].body)
    page = client.get(link).text
    assert "Set your password" in page and "Company name" not in page and "I accept the Terms" in page
    response = client.post(
        link,
        {
            "full_name": "Erin East",
            "password": STRONG_PASSWORD,
            "password_again": STRONG_PASSWORD,
            "terms_version": str(tree.terms.pk),
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(email="erin@eastwood.test").organisation.portal_access == "active"
