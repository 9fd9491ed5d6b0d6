"""Users of an organisation and of those below it (admins only)."""

from django.urls import reverse

from keyledger.organisations.models import User
from keyledger.organisations.roles import Role
from keyledger.testing.tree import PASSWORD, make_user
from tests.organisations.helpers import STRONG_PASSWORD, invitation_path


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_list_shows_own_and_subtree_users_only(tree, client_for):
    body = client_for(tree.dist_a_admin).get(reverse("portal:users")).text
    for email in (
        "dist-a@example.test",
        "dist-a-billing@example.test",
        "msp-a1@example.test",
        "msp-a2@example.test",
    ):
        assert email in body
    assert "dist-b@example.test" not in body and "vendor@example.test" not in body


def test_the_list_costs_the_same_for_many_users(tree, client_for, django_assert_max_num_queries):
    for i in range(70):
        make_user(tree.msp_a1, f"bulk{i:02}@acme.test", Role.MEMBER)
    client = client_for(tree.dist_a_admin)
    client.get(reverse("portal:users"))  # the first request of a session lists it (once)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("portal:users"))
    assert "Page 1 of 2" in response.text


def test_invite_a_user_to_a_child_organisation(tree, client, mailoutbox, django_capture_on_commit_callbacks):
    client.force_login(tree.dist_a_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:invite_user", kwargs={"organisation_id": tree.msp_a1.pk}),
            {"email": "tech@acme.test", "full_name": "Tess Tech", "role": Role.READ_ONLY},
            follow=True,
        )
    assert flashes(response) == ["Invitation sent to tech@acme.test."]
    assert "tech@acme.test" in response.text  # pending on Acme IT's page
    client.logout()
    link = invitation_path(mailoutbox[0].body)
    response = client.post(
        link,
        {
            "full_name": "Tess Tech",
            "password": STRONG_PASSWORD,
            "password_again": STRONG_PASSWORD,
            "terms_version": str(tree.terms.pk),
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="tech@acme.test")
    assert (user.organisation, user.role) == (tree.msp_a1, Role.READ_ONLY)


def test_invite_user_errors_are_next_to_the_fields(tree, client_for):
    client = client_for(tree.dist_a_admin)
    invite = reverse("portal:invite_user", kwargs={"organisation_id": tree.dist_a.pk})
    response = client.post(invite, {"email": "not-an-email", "full_name": "", "role": "owner"})
    assert set(response.context["form"].errors) == {"email", "full_name", "role"}
    client.post(invite, {"email": "twice@dist-a.test", "full_name": "M", "role": Role.MEMBER})
    response = client.post(invite, {"email": "twice@dist-a.test", "full_name": "M", "role": Role.MEMBER})
    assert response.context["form"].errors == {
        "email": ["An invitation for this email is already waiting to be accepted."]
    }
    assert 'id="id_email_error"' in response.text


def test_invite_user_to_an_msp_without_access_is_refused_on_the_form(tree, client_for):
    response = client_for(tree.dist_a_admin).post(
        reverse("portal:invite_user", kwargs={"organisation_id": tree.msp_a3.pk}),
        {"email": "x@cobalt.test", "full_name": "X", "role": Role.ADMIN},
    )
    assert response.status_code == 200
    assert "does not use the portal yet" in response.text


def test_change_role(tree, client_for):
    client = client_for(tree.dist_a_admin)
    page = client.get(reverse("portal:user", kwargs={"user_id": tree.msp_a1_member.pk}))
    assert "Change role" in page.text and "Deactivate" in page.text
    response = client.post(
        reverse("portal:change_role", kwargs={"user_id": tree.msp_a1_member.pk}),
        {"role": Role.ADMIN},
        follow=True,
    )
    assert flashes(response) == ["msp-a1-member@example.test is now Admin."]
    tree.msp_a1_member.refresh_from_db()
    assert tree.msp_a1_member.role == Role.ADMIN


def test_own_page_has_no_role_change_and_the_server_refuses_too(tree, client_for):
    client = client_for(tree.dist_a_admin)
    page = client.get(reverse("portal:user", kwargs={"user_id": tree.dist_a_admin.pk})).text
    assert "Change role" not in page
    response = client.post(
        reverse("portal:change_role", kwargs={"user_id": tree.dist_a_admin.pk}), {"role": "member"}
    )
    assert "your own role" in response.text
    tree.dist_a_admin.refresh_from_db()
    assert tree.dist_a_admin.role == Role.ADMIN


def test_deactivate_signs_the_user_out_and_keeps_them_out(tree, client, client_for):
    from django.test import Client

    member = Client()
    member.force_login(tree.dist_a_member)
    admin = client_for(tree.dist_a_admin)
    response = admin.post(
        reverse("portal:deactivate_user", kwargs={"user_id": tree.dist_a_member.pk}), follow=True
    )
    assert flashes(response) == ["dist-a-member@example.test is deactivated and can no longer sign in."]
    assert member.get(reverse("portal:home")).status_code == 302
    assert "_auth_user_id" not in member.session
    assert not member.login(username=tree.dist_a_member.email, password=PASSWORD)
    response = admin.post(
        reverse("portal:reactivate_user", kwargs={"user_id": tree.dist_a_member.pk}), follow=True
    )
    assert flashes(response) == ["dist-a-member@example.test is active again and can sign in."]
    assert member.login(username=tree.dist_a_member.email, password=PASSWORD)


def test_a_get_on_a_change_goes_back_to_the_users_page(tree, client_for):
    client = client_for(tree.dist_a_admin)
    response = client.get(reverse("portal:deactivate_user", kwargs={"user_id": tree.dist_a_member.pk}))
    assert response.status_code == 302
    tree.dist_a_member.refresh_from_db()
    assert tree.dist_a_member.is_active


def test_an_msp_admin_manages_its_own_users(tree, client_for):
    client = client_for(tree.msp_a1_admin)
    body = client.get(reverse("portal:users")).text
    assert "msp-a1-member@example.test" in body and "dist-a@example.test" not in body
    assert client.get(reverse("portal:user", kwargs={"user_id": tree.dist_a_admin.pk})).status_code == 404
