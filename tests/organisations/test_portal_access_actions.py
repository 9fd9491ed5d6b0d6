"""Grant portal access and Withdraw portal access: users locked out, data kept."""

import pytest
from django.core.exceptions import ValidationError

from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Account
from keyledger.organisations import actions
from keyledger.organisations.models import Invitation, Organisation
from tests.organisations.helpers import actor_for

Access = Organisation.PortalAccess


def test_withdraw_locks_users_out_and_keeps_the_data(tree):
    actions.withdraw_portal_access(msp=tree.msp_a1, actor=actor_for(tree.dist_a_admin))
    tree.msp_a1.refresh_from_db()
    tree.msp_a1_admin.refresh_from_db()
    assert tree.msp_a1.portal_access == Access.WITHDRAWN
    assert tree.msp_a1_admin.is_active and not tree.msp_a1_admin.may_sign_in
    assert Account.objects.filter(msp=tree.msp_a1, name="Alpha Dental").exists()
    row = AuditEntry.objects.get(action="organisation.withdraw_portal_access")
    assert row.changes == {"portal_access": ["active", "withdrawn"]} and row.actor_user == tree.dist_a_admin


def test_nothing_to_withdraw_from_an_msp_without_access(tree):
    with pytest.raises(ValidationError, match="no portal access to withdraw"):
        actions.withdraw_portal_access(msp=tree.msp_a3, actor=actor_for(tree.dist_a_admin))


def test_granting_back_a_withdrawn_msp_with_users_reopens_at_once(
    tree, mailoutbox, django_capture_on_commit_callbacks
):
    actions.withdraw_portal_access(msp=tree.msp_a1, actor=actor_for(tree.dist_a_admin))
    with django_capture_on_commit_callbacks(execute=True):
        invitation = actions.grant_portal_access(
            msp=tree.msp_a1, email="", name="", actor=actor_for(tree.dist_a_admin)
        )
    assert invitation is None and not mailoutbox
    tree.msp_a1.refresh_from_db()
    assert tree.msp_a1.portal_access == Access.ACTIVE
    tree.msp_a1_admin.refresh_from_db()
    assert tree.msp_a1_admin.may_sign_in


def test_granting_an_msp_without_users_sends_an_invitation(
    tree, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = actions.grant_portal_access(
            msp=tree.msp_a3, email="boss@cobalt.test", name="Cleo", actor=actor_for(tree.dist_a_admin)
        )
    assert invitation.organisation == tree.msp_a3 and invitation.purpose == Invitation.Purpose.MSP_INVITE
    tree.msp_a3.refresh_from_db()
    assert tree.msp_a3.portal_access == Access.INVITED
    assert mailoutbox[0].to == ["boss@cobalt.test"]
    row = AuditEntry.objects.get(action="organisation.grant_portal_access")
    assert row.changes == {"portal_access": ["none", "invited"], "email": "boss@cobalt.test"}


def test_granting_without_users_needs_an_email(tree):
    with pytest.raises(ValidationError) as exc:
        actions.grant_portal_access(msp=tree.msp_a3, email="", name="", actor=actor_for(tree.dist_a_admin))
    assert "email" in exc.value.error_dict


def test_granting_again_to_an_invited_msp_replaces_the_link(tree):
    first = actions.grant_portal_access(
        msp=tree.msp_a3, email="boss@cobalt.test", name="C", actor=actor_for(tree.dist_a_admin)
    )
    tree.msp_a3.refresh_from_db()
    second = actions.grant_portal_access(
        msp=tree.msp_a3, email="boss@cobalt.test", name="C", actor=actor_for(tree.dist_a_admin)
    )
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None


def test_granting_is_refused_without_the_agreement_flag(tree):
    actions.withdraw_portal_access(msp=tree.msp_b1, actor=actor_for(tree.dist_b_admin))
    with pytest.raises(ValidationError, match="does not allow inviting"):
        actions.grant_portal_access(msp=tree.msp_b1, email="", name="", actor=actor_for(tree.dist_b_admin))


def test_an_msp_with_access_cannot_be_granted_again(tree):
    with pytest.raises(ValidationError, match="already has portal access"):
        actions.grant_portal_access(msp=tree.msp_a1, email="", name="", actor=actor_for(tree.dist_a_admin))


def test_a_stale_copy_loses_the_compare_and_set(tree):
    stale = Organisation.objects.get(pk=tree.msp_a1.pk)
    actions.withdraw_portal_access(msp=tree.msp_a1, actor=actor_for(tree.dist_a_admin))
    stale.portal_access = Access.INVITED  # what another admin's page still believes
    with pytest.raises(ValidationError, match="changed meanwhile"):
        actions.withdraw_portal_access(msp=stale, actor=actor_for(tree.dist_a_admin))
    assert AuditEntry.objects.filter(action="organisation.withdraw_portal_access").count() == 1
