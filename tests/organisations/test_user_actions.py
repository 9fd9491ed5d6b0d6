"""Users of an organisation: invite, change role, deactivate, reactivate."""

import pytest
from django.core.exceptions import ValidationError

from keyledger.audit.models import AuditEntry
from keyledger.organisations import actions
from keyledger.organisations.models import Invitation
from keyledger.organisations.roles import Role
from tests.organisations.helpers import IP, actor_for


def test_invite_user_sends_a_link_with_the_role(tree, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = actions.invite_user(
            organisation=tree.msp_a1,
            email="tech@acme.test",
            full_name="Tess",
            role=Role.MEMBER,
            actor=actor_for(tree.dist_a_admin),
        )
    assert invitation.purpose == Invitation.Purpose.USER and invitation.role == Role.MEMBER
    assert mailoutbox[0].subject == "Your Keyledger portal login for Acme IT" and token in mailoutbox[0].body
    row = AuditEntry.objects.get(action="invitation.send")
    assert row.organisation == tree.msp_a1 and row.actor_user == tree.dist_a_admin and row.ip_address == IP


def test_no_users_for_an_organisation_without_portal_access(tree):
    with pytest.raises(ValidationError, match="does not use the portal"):
        actions.invite_user(
            organisation=tree.msp_a3,
            email="x@cobalt.test",
            full_name="X",
            role=Role.ADMIN,
            actor=actor_for(tree.dist_a_admin),
        )


def test_invite_user_checks_the_email_and_the_role(tree):
    invite = dict(
        organisation=tree.dist_a, full_name="X", role=Role.ADMIN, actor=actor_for(tree.dist_a_admin)
    )
    actions.invite_user(email="twice@dist-a.test", **invite)
    with pytest.raises(ValidationError) as exc:
        actions.invite_user(email="TWICE@dist-a.test", **invite)
    assert "already waiting" in str(exc.value.error_dict["email"])
    with pytest.raises(ValidationError) as exc:
        actions.invite_user(
            organisation=tree.dist_a,
            email="x@x.test",
            full_name="X",
            role="owner",
            actor=actor_for(tree.dist_a_admin),
        )
    assert "role" in exc.value.error_dict


def test_change_role(tree):
    actions.change_role(user=tree.dist_a_member, role=Role.BILLING, actor=actor_for(tree.dist_a_admin))
    tree.dist_a_member.refresh_from_db()
    assert tree.dist_a_member.role == Role.BILLING
    row = AuditEntry.objects.get(action="user.change_role")
    assert row.changes == {"role": ["member", "billing"]} and row.organisation == tree.dist_a


def test_nobody_changes_their_own_role_or_deactivates_themselves(tree):
    with pytest.raises(ValidationError, match="your own role"):
        actions.change_role(user=tree.dist_a_admin, role=Role.MEMBER, actor=actor_for(tree.dist_a_admin))
    with pytest.raises(ValidationError, match="deactivate yourself"):
        actions.deactivate_user(user=tree.dist_a_admin, actor=actor_for(tree.dist_a_admin))
    tree.dist_a_admin.refresh_from_db()
    assert tree.dist_a_admin.role == Role.ADMIN and tree.dist_a_admin.is_active


def test_deactivate_and_reactivate(tree):
    actions.deactivate_user(user=tree.msp_a1_member, actor=actor_for(tree.dist_a_admin))
    tree.msp_a1_member.refresh_from_db()
    assert not tree.msp_a1_member.is_active and not tree.msp_a1_member.may_sign_in
    with pytest.raises(ValidationError, match="already deactivated"):
        actions.deactivate_user(user=tree.msp_a1_member, actor=actor_for(tree.dist_a_admin))
    actions.reactivate_user(user=tree.msp_a1_member, actor=actor_for(tree.dist_a_admin))
    tree.msp_a1_member.refresh_from_db()
    assert tree.msp_a1_member.is_active
    assert [r.action for r in AuditEntry.objects.order_by("id")] == ["user.deactivate", "user.reactivate"]
