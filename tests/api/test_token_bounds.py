"""A token never does more than its creator may do now; it can expire; a new address is audited."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from keyledger.api.actions import create_token
from keyledger.api.models import ApiToken
from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.organisations.actions import change_role, deactivate_user, reactivate_user
from keyledger.organisations.models import Invitation, User
from tests.api.conftest import TEST_CLIENT_IP, ApiClient, make_token


def _invite(api: ApiClient, tree, role: str = "admin"):
    return api.post(f"/organisations/{tree.msp_a1.pk}/users", {"email": "new@acme.example", "role": role})


def test_a_token_follows_its_creator_down_to_read_only(tree):
    _, secret = make_token(tree.msp_a1, user=tree.msp_a1_admin)
    api = ApiClient(secret)
    assert api.get("/users").status_code == 200
    change_role(user=tree.msp_a1_admin, role="read-only", actor=Actor(user=tree.dist_a_admin))

    assert api.get("/users").status_code == 403
    response = _invite(api, tree)
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="new@acme.example").exists()
    assert not User.objects.filter(email="new@acme.example").exists()
    # What the Read-only role may do, the token still does.
    assert api.get("/accounts").status_code == 200
    assert api.get("/audit-log").status_code == 403


def test_a_token_whose_creator_may_change_nothing_is_refused_every_change(tree):
    _, secret = make_token(tree.msp_a1, user=tree.msp_a1_admin)
    change_role(user=tree.msp_a1_admin, role="read-only", actor=Actor(user=tree.dist_a_admin))
    response = ApiClient(secret).post("/accounts", {"msp_id": tree.msp_a1.pk, "name": "Echo Bakery"})
    assert response.status_code == 403
    assert response.json()["error"] == "read_only_token"
    assert tree.msp_a1_admin.email in response.json()["detail"]
    assert not tree.msp_a1.accounts.filter(name="Echo Bakery").exists()


def test_a_token_follows_its_creators_current_role_back_up(tree):
    _, secret = make_token(tree.msp_a1, user=tree.msp_a1_admin)
    api = ApiClient(secret)
    change_role(user=tree.msp_a1_admin, role="member", actor=Actor(user=tree.dist_a_admin))
    assert api.get("/users").status_code == 403
    assert api.post("/accounts", {"msp_id": tree.msp_a1.pk, "name": "Echo Bakery"}).status_code == 201
    change_role(user=tree.msp_a1_admin, role="admin", actor=Actor(user=tree.dist_a_admin))
    assert api.get("/users").status_code == 200


def test_a_read_only_token_of_an_admin_reads_the_audit_log_and_of_a_member_does_not(tree):
    _, of_admin = make_token(tree.dist_a, scope="read-only", user=tree.dist_a_admin)
    _, of_member = make_token(tree.dist_a, scope="read-only", user=tree.dist_a_member)
    assert ApiClient(of_admin).get("/audit-log").status_code == 200
    assert ApiClient(of_member).get("/audit-log").status_code == 403
    assert ApiClient(of_member).get("/keys").status_code == 200


def test_a_token_of_a_deactivated_creator_answers_401_until_reactivated(tree):
    _, secret = make_token(tree.msp_a1, user=tree.msp_a1_admin)
    api = ApiClient(secret)
    deactivate_user(user=tree.msp_a1_admin, actor=Actor(user=tree.dist_a_admin))
    for response in [api.get("/users"), _invite(api, tree), api.get("/accounts")]:
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        assert "deactivated" in response.json()["detail"]
        assert tree.msp_a1_admin.email in response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Invitation.objects.filter(email="new@acme.example").exists()
    reactivate_user(user=tree.msp_a1_admin, actor=Actor(user=tree.dist_a_admin))
    assert api.get("/accounts").status_code == 200


def test_a_token_whose_creator_left_the_organisation_answers_401(tree):
    _, secret = make_token(tree.msp_a1, user=tree.msp_a1_member)
    User.objects.filter(pk=tree.msp_a1_member.pk).update(organisation=tree.msp_a2)
    response = ApiClient(secret).get("/accounts")
    assert response.status_code == 401
    assert f"no longer a user of {tree.msp_a1.name}" in response.json()["detail"]


def test_a_token_without_a_known_creator_is_bounded_by_the_read_only_role(tree):
    token, secret = make_token(tree.dist_a, user=tree.dist_a_admin)
    ApiToken.objects.filter(pk=token.pk).update(created_by=None)  # as tokens made before creators counted
    api = ApiClient(secret)
    assert api.get("/accounts").status_code == 200
    assert api.get("/keys").status_code == 200
    assert api.get("/users").status_code == 403
    assert api.get("/audit-log").status_code == 403
    response = api.post("/accounts", {"msp_id": tree.msp_a1.pk, "name": "Echo Bakery"})
    assert response.status_code == 403
    assert response.json()["error"] == "read_only_token"
    assert "No user of the organisation" in response.json()["detail"]


def test_a_token_made_by_vendor_staff_for_another_organisation_is_bounded_by_the_read_only_role(tree):
    token, secret = create_token(
        organisation=tree.dist_a,
        name="From the admin",
        scope="read-write",
        actor=Actor(user=tree.vendor_admin),
    )
    assert token.created_by == tree.vendor_admin
    assert token.bounding_user is None
    assert token.bounding_role == "read-only"
    api = ApiClient(secret)
    assert api.get("/accounts").status_code == 200
    response = api.post("/accounts", {"msp_id": tree.msp_a1.pk, "name": "Echo Bakery"})
    assert response.status_code == 403
    assert "No user of the organisation" in response.json()["detail"]
    entry = AuditEntry.objects.get(action="api_token.create")
    assert (entry.actor_user, entry.changes["bounded_by"]) == (tree.vendor_admin, None)
    User.objects.filter(pk=tree.vendor_admin.pk).update(is_active=False)
    assert api.get("/accounts").status_code == 401


def test_a_token_made_by_someone_else_of_another_organisation_has_no_creator(tree):
    token, _ = create_token(
        organisation=tree.msp_a1, name="For the MSP", scope="read-write", actor=Actor(user=tree.dist_a_admin)
    )
    assert token.created_by is None
    assert token.bounding_role == "read-only"
    entry = AuditEntry.objects.get(action="api_token.create")
    assert entry.actor_user == tree.dist_a_admin
    assert entry.changes["bounded_by"] is None


def test_an_expired_token_answers_401(tree):
    now = timezone.now()
    token, secret = create_token(
        organisation=tree.dist_a,
        name="Year-end export",
        scope="read-only",
        expires_at=now + timedelta(days=2),
        actor=Actor(user=tree.dist_a_admin),
    )
    api = ApiClient(secret)
    assert api.get("/accounts").status_code == 200
    with time_machine.travel(now + timedelta(days=2), tick=False):
        response = api.get("/accounts")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This API token expired on ")
    assert (
        AuditEntry.objects.get(action="api_token.create").changes["expires_at"]
        == token.expires_at.isoformat()
    )


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(days=-1)])
def test_a_token_cannot_expire_in_the_past(tree, delta):
    with pytest.raises(ValidationError) as caught:
        create_token(
            organisation=tree.dist_a,
            name="Too late",
            scope="read-only",
            expires_at=timezone.now() + delta,
            actor=Actor(user=tree.dist_a_admin),
        )
    assert set(caught.value.error_dict) == {"expires_at"}
    assert not ApiToken.objects.exists()


def test_use_from_a_new_address_is_audited_once_per_address(tree, django_assert_max_num_queries):
    token, secret = make_token(tree.dist_a, user=tree.dist_a_admin)
    api = ApiClient(secret)
    for ip in ["198.51.100.7", "198.51.100.7", "203.0.113.9", "198.51.100.7", "2001:db8::1"]:
        assert api.get("/organisations", REMOTE_ADDR=ip).status_code == 200
    entries = AuditEntry.objects.filter(action="api_token.new_address").order_by("id")
    assert [e.ip_address for e in entries] == ["198.51.100.7", "203.0.113.9", "2001:db8::1"]
    assert [e.changes["ip"] for e in entries] == ["198.51.100.7", "203.0.113.9", "2001:db8::1"]
    assert all(e.actor_token_id == token.pk and e.organisation == tree.dist_a for e in entries)
    seen = set(token.addresses.values_list("ip", flat=True))
    assert seen == {TEST_CLIENT_IP, "198.51.100.7", "203.0.113.9", "2001:db8::1"}
    # The same address again: no look-up of the addresses and no write.
    with django_assert_max_num_queries(3):
        api.get(f"/organisations/{tree.dist_a.pk}", REMOTE_ADDR="2001:db8::1")


def test_the_first_use_of_a_new_token_is_audited(tree):
    token, secret = create_token(
        organisation=tree.dist_a, name="PSA", scope="read-only", actor=Actor(user=tree.dist_a_admin)
    )
    ApiClient(secret).get("/organisations", REMOTE_ADDR="198.51.100.7")
    entry = AuditEntry.objects.get(action="api_token.new_address")
    assert (entry.ip_address, entry.actor_token_id, entry.channel) == ("198.51.100.7", token.pk, "api")
