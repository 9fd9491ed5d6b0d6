from keyledger.audit.models import AuditEntry
from keyledger.organisations.models import Invitation, User


def test_list_the_users_of_the_subtree(tree, api_for, django_assert_max_num_queries):
    api = api_for(tree.dist_a)
    with django_assert_max_num_queries(4):
        response = api.get("/users")
    emails = {u["email"] for u in response.json()["items"]}
    assert "msp-a1@example.test" in emails and "dist-a-billing@example.test" in emails
    assert "dist-b@example.test" not in emails and "vendor@example.test" not in emails
    only = api.get("/users", {"organisation_id": tree.msp_a2.pk}).json()["items"]
    assert [u["email"] for u in only] == ["msp-a2@example.test"]


def test_users_are_for_admin_tokens_only(tree, api_for):
    response = api_for(tree.dist_a, scope="read-only").get("/users")
    assert response.status_code == 403


def test_get_a_user(tree, api_for):
    body = api_for(tree.dist_a).get(f"/users/{tree.msp_a1_member.pk}").json()
    assert (body["email"], body["role"], body["organisation_name"]) == (
        "msp-a1-member@example.test",
        "member",
        "Acme IT",
    )
    assert "password" not in body


def test_invite_a_user(tree, api_for, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(tree.dist_a).post(
            f"/organisations/{tree.msp_a1.pk}/users",
            {"email": "new@acme.test", "full_name": "Nia", "role": "billing"},
        )
    assert response.status_code == 201
    assert (response.json()["email"], response.json()["role"]) == ("new@acme.test", "billing")
    assert Invitation.objects.get(email="new@acme.test").organisation == tree.msp_a1
    assert mailoutbox[0].to == ["new@acme.test"]


def test_invite_a_user_with_bad_input(tree, api_for):
    api = api_for(tree.dist_a)
    bad_role = api.post(f"/organisations/{tree.msp_a1.pk}/users", {"email": "new@acme.test", "role": "owner"})
    assert (bad_role.status_code, bad_role.json()["field"]) == (422, "role")
    no_portal = api.post(f"/organisations/{tree.msp_a3.pk}/users", {"email": "new@cobalt.test"})
    assert no_portal.status_code == 409
    assert not Invitation.objects.exists()


def test_inviting_an_address_with_a_login_answers_as_for_a_new_one(
    tree, api_for, mailoutbox, django_capture_on_commit_callbacks
):
    api = api_for(tree.dist_a)
    with django_capture_on_commit_callbacks(execute=True):
        taken = api.post(f"/organisations/{tree.msp_a1.pk}/users", {"email": "DIST-B@example.test"})
        new = api.post(f"/organisations/{tree.msp_a1.pk}/users", {"email": "new@acme.test"})
    assert taken.status_code == new.status_code == 201
    assert set(taken.json()) == set(new.json())
    note, link = mailoutbox
    assert "/invitations/" not in note.body and "/invitations/" in link.body


def test_change_role_deactivate_and_reactivate(tree, api_for):
    api = api_for(tree.dist_a)
    user = tree.msp_a1_member
    assert api.put(f"/users/{user.pk}/role", {"role": "read-only"}).json()["role"] == "read-only"
    assert api.post(f"/users/{user.pk}/deactivate").json()["is_active"] is False
    assert api.post(f"/users/{user.pk}/deactivate").status_code == 409
    assert api.post(f"/users/{user.pk}/reactivate").json()["is_active"] is True
    user.refresh_from_db()
    assert (user.role, user.is_active) == ("read-only", True)
    assert list(AuditEntry.objects.filter(channel="api").order_by("id").values_list("action", flat=True)) == [
        "user.change_role",
        "user.deactivate",
        "user.reactivate",
    ]


def test_a_token_cannot_lock_out_the_admin_behind_it(tree, api_for):
    # The token acts for the admin who created it; nobody deactivates themselves.
    response = api_for(tree.dist_a).post(f"/users/{tree.dist_a_admin.pk}/deactivate")
    assert response.status_code == 409
    assert User.objects.get(pk=tree.dist_a_admin.pk).is_active


def test_the_audit_log_shows_the_subtree_newest_first(tree, api_for, django_assert_max_num_queries):
    dist_b = api_for(tree.dist_b)
    dist_b.post("/accounts", {"msp_id": tree.msp_b1.pk, "name": "Secret Sauce"})
    api = api_for(tree.dist_a)
    api.post("/accounts", {"msp_id": tree.msp_a1.pk, "name": "Echo Bakery"})
    api.patch(f"/accounts/{tree.account_a1.pk}", {"notes": "n"})
    with django_assert_max_num_queries(4):
        response = api.get("/audit-log")
    items = response.json()["items"]
    assert [e["action"] for e in items][:2] == ["account.update", "account.create"]
    assert "Secret Sauce" not in response.content.decode()
    assert items[0]["actor"].startswith("API token kl_")
    assert items[0]["channel"] == "api"
    only = api.get("/audit-log", {"action": "account.create", "organisation_id": tree.msp_a1.pk}).json()[
        "items"
    ]
    assert [e["object_repr"] for e in only] == ["Echo Bakery"]


def test_the_audit_log_names_people_above_the_token_by_their_organisation(tree, api_for):
    api_for(tree.dist_a).patch(f"/accounts/{tree.account_a1.pk}", {"notes": "n"}, REMOTE_ADDR="198.51.100.9")
    mine = api_for(tree.msp_a1)
    mine.patch(f"/accounts/{tree.account_a1.pk}", {"notes": "m"})
    entries = mine.get("/audit-log", {"action": "account.update"}).json()["items"]
    assert [e["actor"] for e in entries][1] == "Northwind Distribution"
    assert entries[1]["actor_user_id"] is None and entries[1]["ip_address"] is None
    assert entries[0]["actor"].startswith("API token kl_")
    assert "dist-a@" not in str(entries) and "198.51.100.9" not in str(entries)
    above = api_for(tree.dist_a).get("/audit-log", {"action": "account.update"}).json()["items"]
    assert above[1]["ip_address"] == "198.51.100.9"
