"""The Distributors / MSPs pages: list, detail, New MSP, Invite, New Distributor, agreement, portal access."""

import pytest
from django.test import Client
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.organisations.actions import invite_user
from keyledger.organisations.models import Organisation
from keyledger.testing.tree import make_org
from tests.organisations.helpers import actor_for

Access = Organisation.PortalAccess


def url(name, **kwargs):
    return reverse(f"portal:{name}", kwargs=kwargs)


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_vendor_sees_distributors_and_everything_below(tree, client_for):
    response = client_for(tree.vendor_admin).get(url("organisations"))
    assert response.status_code == 200
    for name in (
        "Northwind Distribution",
        "Southgate Supply",
        "Acme IT",
        "Cobalt Services",
        "Dingo Networks",
    ):
        assert name in response.text
    assert ">New Distributor<" in response.text
    assert ">New MSP<" not in response.text and ">Invite<" not in response.text


def test_distributor_sees_its_msps_with_their_status(tree, client_for):
    tree.msp_a3.city, tree.msp_a3.country = "Bristol", "UK"
    tree.msp_a3.save(update_fields=["city", "country"])
    response = client_for(tree.dist_a_admin).get(url("organisations"))
    body = response.text
    assert "Acme IT" in body and "Bluebird Managed" in body and "Cobalt Services" in body
    assert "Dingo Networks" not in body and "Southgate Supply" not in body
    assert "Bristol, UK" in body and "No portal access" in body and "EMEA" in body
    assert ">New MSP<" in body and ">Invite<" in body
    assert ">New Distributor<" not in body  # dist_a may not create sub-distributors


def test_invite_button_is_hidden_when_the_agreement_does_not_allow_it(tree, client_for):
    body = client_for(tree.dist_b_admin).get(url("organisations")).text
    assert ">New MSP<" in body and ">Invite<" not in body


def test_the_list_searches_by_name(tree, client_for):
    body = client_for(tree.dist_a_admin).get(url("organisations"), {"q": "blue"}).text
    assert "Bluebird Managed" in body and "Acme IT" not in body


def test_the_list_costs_the_same_for_many_rows(tree, client_for, django_assert_max_num_queries):
    for i in range(60):
        make_org(parent=tree.dist_a, kind="msp", name=f"Bulk MSP {i:02}")
    client = client_for(tree.vendor_admin)
    with django_assert_max_num_queries(12):
        response = client.get(url("organisations"))
    assert "Page 1 of 2" in response.text


@pytest.mark.parametrize("role_user", ["dist_a_member", "dist_a_billing", "dist_a_readonly", "msp_a1_member"])
def test_other_roles_get_403_on_every_onboarding_page(tree, client_for, role_user):
    client = client_for(getattr(tree, role_user))
    org_id = tree.dist_a.pk
    pages = [
        url("organisations"),
        url("organisation", organisation_id=tree.msp_a1.pk),
        url("new_msp", organisation_id=org_id),
        url("invite_msp", organisation_id=org_id),
        url("new_distributor", organisation_id=org_id),
        url("grant_portal_access", organisation_id=tree.msp_a3.pk),
        url("withdraw_portal_access", organisation_id=tree.msp_a1.pk),
        url("invite_user", organisation_id=tree.msp_a1.pk),
        url("users"),
        url("user", user_id=tree.msp_a1_admin.pk),
        url("terms"),
        url("audit_log"),
    ]
    for page in pages:
        assert client.get(page).status_code == 403, page
        assert client.post(page).status_code == 403, page
    assert Organisation.objects.count() == 7 and not AuditEntry.objects.exists()


def test_detail_shows_details_users_and_the_access_buttons(tree, client_for):
    response = client_for(tree.dist_a_admin).get(url("organisation", organisation_id=tree.msp_a1.pk))
    body = response.text
    assert "Acme IT" in body and "msp-a1@example.test" in body and "msp-a1-member@example.test" in body
    assert "Withdraw portal access" in body and "Grant portal access" not in body
    assert "Edit agreement" not in body


def test_detail_of_an_msp_without_access_offers_grant(tree, client_for):
    body = client_for(tree.dist_a_admin).get(url("organisation", organisation_id=tree.msp_a3.pk)).text
    assert "Grant portal access" in body and "Withdraw portal access" not in body


def test_detail_of_a_distributor_shows_its_agreement_and_vendor_may_edit_it(tree, client_for):
    body = client_for(tree.vendor_admin).get(url("organisation", organisation_id=tree.dist_a.pk)).text
    assert "May invite MSPs (portal access)" in body and "Edit agreement" in body
    assert ">New MSP<" in body and ">Invite<" in body


def test_new_msp(tree, client_for):
    client = client_for(tree.dist_a_admin)
    assert "Postal code" in client.get(url("new_msp", organisation_id=tree.dist_a.pk)).text
    response = client.post(
        url("new_msp", organisation_id=tree.dist_a.pk),
        {"name": "Delta Tech", "city": "York", "state": "", "country": "UK", "postal_code": "YO1"},
        follow=True,
    )
    msp = Organisation.objects.get(name="Delta Tech")
    assert response.redirect_chain[-1][0] == url("organisation", organisation_id=msp.pk) + "?created=1"
    assert "MSP Delta Tech created" in flashes(response)[0]
    # The page it lands on leads on: to the MSP's keys and to giving its people portal access.
    manage = reverse("portal:msp_key_management", kwargs={"msp_id": msp.pk})
    invite = url("grant_portal_access", organisation_id=msp.pk)
    assert f'<a class="button primary" href="{manage}">Manage its keys</a>' in response.text
    assert f'<a class="button" href="{invite}">Invite its people</a>' in response.text
    assert msp.parent == tree.dist_a and msp.portal_access == Access.NONE
    assert AuditEntry.objects.get(action="organisation.create_msp").ip_address == "127.0.0.1"


def test_new_msp_shows_field_errors_next_to_the_fields(tree, client_for):
    response = client_for(tree.dist_a_admin).post(
        url("new_msp", organisation_id=tree.dist_a.pk),
        {"name": "", "city": "York", "country": "", "postal_code": ""},
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name", "country", "postal_code"}
    assert 'id="id_name_error"' in response.text and 'id="id_country_error"' in response.text
    assert not Organisation.objects.filter(city="York").exists()


def test_new_msp_is_only_made_under_a_distributor(tree, client_for):
    assert (
        client_for(tree.dist_a_admin).get(url("new_msp", organisation_id=tree.msp_a1.pk)).status_code == 404
    )


def test_invite(tree, client_for, mailoutbox, django_capture_on_commit_callbacks):
    client = client_for(tree.dist_a_admin)
    page = client.get(url("invite_msp", organisation_id=tree.dist_a.pk))
    assert 'value="EMEA"' in page.text  # region defaults to the distributor's
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("invite_msp", organisation_id=tree.dist_a.pk),
            {
                "email": "o@falcon.test",
                "name": "Fay",
                "company": "Falcon IT",
                "city": "Leeds",
                "state": "",
                "country": "UK",
                "postal_code": "LS1",
                "region": "EMEA",
            },
            follow=True,
        )
    assert "Falcon IT is invited" in flashes(response)[0]
    assert Organisation.objects.get(name="Falcon IT").portal_access == Access.INVITED
    assert len(mailoutbox) == 1


def test_invite_to_an_address_with_a_login_answers_as_for_a_new_address(
    tree, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    def invite(email: str, company: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(tree.dist_a_admin).post(
                url("invite_msp", organisation_id=tree.dist_a.pk),
                {
                    "email": email,
                    "name": "F",
                    "company": company,
                    "city": "Leeds",
                    "country": "UK",
                    "postal_code": "LS1",
                },
            )

    # msp-a2@ has a login (at a sibling MSP); nobody@ has none: the distributor cannot tell.
    taken, new = invite("msp-a2@example.test", "Falcon IT"), invite("nobody@falcon.test", "Gannet IT")
    assert taken.status_code == new.status_code == 302
    assert Organisation.objects.filter(name__in=["Falcon IT", "Gannet IT"]).count() == 2
    note, link = mailoutbox
    assert note.to == ["msp-a2@example.test"] and "/invitations/" not in note.body
    assert link.to == ["nobody@falcon.test"] and "/invitations/" in link.body


def test_invite_is_refused_when_the_agreement_does_not_allow_it(tree, client_for):
    client = client_for(tree.dist_b_admin)
    for method in (client.get, client.post):
        response = method(
            url("invite_msp", organisation_id=tree.dist_b.pk), {"email": "o@x.test", "company": "X"}
        )
        assert response.status_code == 403
        assert "does not allow inviting MSPs" in response.text
    assert not Organisation.objects.filter(name="X").exists()


def test_vendor_creates_a_distributor(tree, client_for, mailoutbox, django_capture_on_commit_callbacks):
    client = client_for(tree.vendor_admin)
    page = client.get(url("new_distributor", organisation_id=tree.vendor.pk)).text
    assert "First login email" in page and "Master MSP" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("new_distributor", organisation_id=tree.vendor.pk),
            {
                "name": "Eastwood Trade",
                "region": "NA",
                "may_invite_msps": "on",
                "admin_email": "erin@eastwood.test",
                "admin_name": "Erin",
            },
            follow=True,
        )
    assert "Distributor Eastwood Trade created" in flashes(response)[0]
    assert "Eastwood Trade" in response.text
    org = Organisation.objects.get(name="Eastwood Trade")
    assert org.may_invite_msps and not org.may_create_subdistributors and org.region == "NA"
    assert mailoutbox[0].to == ["erin@eastwood.test"]


def test_new_distributor_email_error_is_next_to_the_first_login_email(tree, client_for):
    response = client_for(tree.vendor_admin).post(
        url("new_distributor", organisation_id=tree.vendor.pk),
        {"name": "Dup", "region": "NA", "admin_email": "not an email", "admin_name": "D"},
    )
    assert "admin_email" in response.context["form"].errors


def test_a_distributor_without_the_flag_cannot_create_sub_distributors(tree, client_for):
    response = client_for(tree.dist_a_admin).post(
        url("new_distributor", organisation_id=tree.dist_a.pk),
        {"name": "Sub", "region": "EMEA", "admin_email": "s@sub.test", "admin_name": "S"},
    )
    assert response.status_code == 403 and "does not allow creating sub-distributors" in response.text
    assert not Organisation.objects.filter(name="Sub").exists()


def test_a_distributor_with_the_flag_creates_a_sub_distributor(tree, client_for):
    tree.dist_a.may_create_subdistributors = True
    tree.dist_a.save(update_fields=["may_create_subdistributors"])
    client = client_for(tree.dist_a_admin)
    assert ">New Distributor<" in client.get(url("organisations")).text
    page = client.get(url("new_distributor", organisation_id=tree.dist_a.pk)).text
    assert "May provision Cloud Services" not in page  # dist_a itself may not
    response = client.post(
        url("new_distributor", organisation_id=tree.dist_a.pk),
        {
            "name": "Sub Supply",
            "region": "EMEA",
            "is_master_msp": "on",
            "admin_email": "s@sub.test",
            "admin_name": "S",
        },
        follow=True,
    )
    assert "Distributor Sub Supply created" in flashes(response)[0]
    assert "Master MSP" in response.text
    assert Organisation.objects.get(name="Sub Supply").parent == tree.dist_a


def test_vendor_edits_an_agreement(tree, client_for):
    response = client_for(tree.vendor_admin).post(
        url("edit_agreement", organisation_id=tree.dist_b.pk),
        {"region": "APAC", "may_invite_msps": "on"},
        follow=True,
    )
    assert flashes(response) == ["The agreement of Southgate Supply is saved."]
    tree.dist_b.refresh_from_db()
    assert tree.dist_b.may_invite_msps


def test_a_distributor_cannot_edit_its_own_agreement(tree, client_for):
    response = client_for(tree.dist_b_admin).post(
        url("edit_agreement", organisation_id=tree.dist_b.pk), {"may_invite_msps": "on"}
    )
    assert response.status_code == 403
    tree.dist_b.refresh_from_db()
    assert not tree.dist_b.may_invite_msps


def test_withdraw_and_the_withdrawn_users_next_request_is_signed_out(tree, client):
    msp_client = Client()
    msp_client.force_login(tree.msp_a1_admin)
    assert msp_client.get(url("users")).status_code == 200

    client.force_login(tree.dist_a_admin)
    response = client.post(url("withdraw_portal_access", organisation_id=tree.msp_a1.pk), follow=True)
    assert "Portal access of Acme IT withdrawn" in flashes(response)[0]
    tree.msp_a1.refresh_from_db()
    assert tree.msp_a1.portal_access == Access.WITHDRAWN

    response = msp_client.get(url("users"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))
    assert "_auth_user_id" not in msp_client.session
    assert not msp_client.login(username="msp-a1@example.test", password="correct horse battery staple")


def test_grant_to_an_msp_without_users_sends_an_invitation(
    tree, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(tree.dist_a_admin)
    page = client.get(url("grant_portal_access", organisation_id=tree.msp_a3.pk))
    assert "Email" in page.text
    response = client.post(
        url("grant_portal_access", organisation_id=tree.msp_a3.pk), {"email": "", "name": ""}
    )
    assert set(response.context["form"].errors) == {"email", "name"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("grant_portal_access", organisation_id=tree.msp_a3.pk),
            {"email": "boss@cobalt.test", "name": "Cleo"},
            follow=True,
        )
    assert flashes(response) == ["Portal access granted: an invitation went to boss@cobalt.test."]
    assert mailoutbox[0].to == ["boss@cobalt.test"]
    assert "boss@cobalt.test" in response.text  # listed among the pending invitations


def test_grant_back_to_a_withdrawn_msp_with_users(tree, client_for):
    client = client_for(tree.dist_a_admin)
    client.post(url("withdraw_portal_access", organisation_id=tree.msp_a1.pk))
    response = client.post(url("grant_portal_access", organisation_id=tree.msp_a1.pk), follow=True)
    assert flashes(response)[-1] == "Portal access granted: the users of Acme IT can sign in again."
    tree.msp_a1.refresh_from_db()
    assert tree.msp_a1.portal_access == Access.ACTIVE


def test_an_msp_admin_cannot_withdraw_its_own_access(tree, client_for):
    response = client_for(tree.msp_a1_admin).post(
        url("withdraw_portal_access", organisation_id=tree.msp_a1.pk)
    )
    assert response.status_code == 403
    tree.msp_a1.refresh_from_db()
    assert tree.msp_a1.portal_access == Access.ACTIVE


def test_grant_is_refused_when_the_agreement_does_not_allow_it(tree, client_for):
    client = client_for(tree.dist_b_admin)
    client.post(url("withdraw_portal_access", organisation_id=tree.msp_b1.pk))
    response = client.post(url("grant_portal_access", organisation_id=tree.msp_b1.pk))
    assert response.status_code == 403 and "does not allow" in response.text


def test_resend_invitation_from_the_detail_page(
    tree, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(tree.dist_a_admin)
    client.post(
        url("invite_msp", organisation_id=tree.dist_a.pk),
        {"email": "o@falcn.test", "name": "Fay", "company": "Falcon IT"},
    )
    msp = Organisation.objects.get(name="Falcon IT")
    page = client.get(url("organisation", organisation_id=msp.pk)).text
    assert "Resend invitation" in page and "Grant portal access" not in page
    form = client.get(url("resend_invitation", organisation_id=msp.pk))
    assert 'value="o@falcn.test"' in form.text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("resend_invitation", organisation_id=msp.pk),
            {"email": "o@falcon.test", "name": "Fay"},
            follow=True,
        )
    assert flashes(response) == ["A new invitation went to o@falcon.test; the old link no longer works."]
    assert mailoutbox[-1].to == ["o@falcon.test"]
    assert list(msp.invitations.filter(revoked_at__isnull=True).values_list("email", flat=True)) == [
        "o@falcon.test"
    ]


def test_revoke_a_pending_user_invitation(tree, client_for):
    client = client_for(tree.dist_a_admin)
    client.post(
        url("invite_user", organisation_id=tree.msp_a1.pk),
        {"email": "typo@acme.test", "full_name": "T", "role": "member"},
    )
    invitation = tree.msp_a1.invitations.get()
    assert "typo@acme.test</td>" in client.get(url("organisation", organisation_id=tree.msp_a1.pk)).text
    response = client.post(
        url("revoke_invitation", organisation_id=tree.msp_a1.pk), {"invitation": invitation.pk}, follow=True
    )
    assert flashes(response) == ["The invitation for typo@acme.test is revoked; its link no longer works."]
    assert "typo@acme.test</td>" not in response.text  # no longer among the pending ones
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_revoke_reaches_only_the_organisations_own_invitations(tree, client_for):
    client = client_for(tree.dist_a_admin)
    client.post(
        url("invite_user", organisation_id=tree.msp_a1.pk),
        {"email": "t@acme.test", "full_name": "T", "role": "member"},
    )
    invitation = tree.msp_a1.invitations.get()
    revoke = url("revoke_invitation", organisation_id=tree.msp_a2.pk)
    assert client.post(revoke, {"invitation": invitation.pk}).status_code == 404
    assert client.post(revoke, {"invitation": "x"}).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_an_msp_sees_who_invited_its_users_by_the_distributors_name_only(tree, client_for):
    invite_user(
        organisation=tree.msp_a1,
        email="new-tech@acme.test",
        full_name="New Tech",
        role="member",
        actor=actor_for(tree.dist_a_admin),
    )
    own_page = url("organisation", organisation_id=tree.msp_a1.pk)
    body = client_for(tree.msp_a1_admin).get(own_page).text
    assert "new-tech@acme.test" in body
    assert tree.dist_a_admin.email not in body and f"by {tree.dist_a.name}" in body
    # The distributor knows its own admin.
    assert f"by {tree.dist_a_admin.email}" in client_for(tree.dist_a_admin).get(own_page).text
