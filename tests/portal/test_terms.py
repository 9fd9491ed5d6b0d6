"""A new version of the Terms of Service is accepted at the next request, before anything else."""

from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.organisations import actions
from keyledger.organisations.models import TermsAcceptance, TermsVersion
from tests.organisations.helpers import actor_for


def test_a_new_version_sends_everyone_but_the_vendor_to_accept_it(tree, client):
    actions.publish_terms(text="Version two: be kind.", actor=actor_for(tree.vendor_admin))
    client.force_login(tree.msp_a1_admin)
    response = client.get(reverse("portal:users"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:accept_terms") + "?next=/users/"
    page = client.get(response["Location"])
    assert "Version two: be kind." in page.text and "Accept and continue" in page.text

    client.force_login(tree.vendor_admin)
    assert client.get(reverse("portal:users")).status_code == 200


def test_accepting_records_user_organisation_version_time_and_ip(tree, client):
    new = actions.publish_terms(text="Version two.", actor=actor_for(tree.vendor_admin))
    client.force_login(tree.dist_a_admin)
    response = client.post(
        reverse("portal:accept_terms"),
        {"terms_version": new.pk, "accept_terms": "on", "next": "/users/"},
        REMOTE_ADDR="192.0.2.10",
        follow=True,
    )
    assert response.redirect_chain[0][0] == "/users/"
    assert "Thank you: you accepted the Terms of Service (version 2)." in [
        str(m) for m in response.context["messages"]
    ]
    acceptance = TermsAcceptance.objects.get(user=tree.dist_a_admin, terms=new)
    assert (acceptance.organisation, acceptance.ip_address) == (tree.dist_a, "192.0.2.10")
    assert acceptance.accepted_at is not None
    row = AuditEntry.objects.get(action="terms.accept")
    assert row.actor_user == tree.dist_a_admin and row.ip_address == "192.0.2.10"
    assert client.get(reverse("portal:accept_terms")).status_code == 302  # nothing left to accept


def test_the_checkbox_is_required(tree, client):
    new = actions.publish_terms(text="Version two.", actor=actor_for(tree.vendor_admin))
    client.force_login(tree.dist_a_admin)
    response = client.post(reverse("portal:accept_terms"), {"terms_version": new.pk})
    assert response.status_code == 200 and "accept_terms" in response.context["form"].errors
    assert not TermsAcceptance.objects.filter(terms=new).exists()


def test_a_version_published_while_reading_must_be_read(tree, client):
    two = actions.publish_terms(text="Version two.", actor=actor_for(tree.vendor_admin))
    actions.publish_terms(text="Version three.", actor=actor_for(tree.vendor_admin))
    client.force_login(tree.dist_a_admin)
    response = client.post(
        reverse("portal:accept_terms"), {"terms_version": two.pk, "accept_terms": "on"}, follow=True
    )
    assert "changed while you were reading" in response.text and "Version three." in response.text
    assert response.context["form"]["terms_version"].value() == two.pk + 1
    assert not TermsAcceptance.objects.filter(user=tree.dist_a_admin, terms__version__gt=1).exists()


def test_next_cannot_leave_the_site(tree, client):
    new = actions.publish_terms(text="Version two.", actor=actor_for(tree.vendor_admin))
    client.force_login(tree.dist_a_admin)
    response = client.post(
        reverse("portal:accept_terms"),
        {"terms_version": new.pk, "accept_terms": "on", "next": "https://evil.test/"},
    )
    assert response["Location"] == "/"


def test_vendor_staff_publish_a_version_on_the_terms_page(tree, client_for):
    client = client_for(tree.vendor_admin)
    response = client.post(
        reverse("portal:terms"), {"title": "Terms of Service", "text": "Version two."}, follow=True
    )
    assert "Version 2 published" in " ".join(str(m) for m in response.context["messages"])
    assert TermsVersion.objects.get(version=2).text == "Version two."
    response = client.post(reverse("portal:terms"), {"title": "T", "text": ""})
    assert "text" in response.context["form"].errors


def test_distributors_do_not_publish_terms(tree, client_for):
    response = client_for(tree.dist_a_admin).post(reverse("portal:terms"), {"title": "T", "text": "Mine."})
    assert response.status_code == 403
    assert not TermsVersion.objects.filter(text="Mine.").exists()
