"""Following an emailed link: single use, expiry, revocation, details, Terms acceptance."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from keyledger.audit.models import AuditEntry
from keyledger.organisations import actions
from keyledger.organisations.models import Invitation, Organisation, TermsAcceptance, User
from tests.organisations.helpers import IP, STRONG_PASSWORD, actor_for

Access = Organisation.PortalAccess


@pytest.fixture
def invited(tree):
    """An MSP invited by dist_a: (msp, invitation, token)."""
    return actions.invite_msp(
        distributor=tree.dist_a,
        email="owner@falcon.test",
        name="Fay Falcon",
        company="Falcon",
        city="",
        state="",
        country="",
        postal_code="",
        region="",
        actor=actor_for(tree.dist_a_admin),
    )


def accept(token, tree, **overrides):
    kwargs = {
        "token": token,
        "password": STRONG_PASSWORD,
        "full_name": "Fay Falcon",
        "accept_terms": tree.terms,
        "details": {
            "name": "Falcon IT Ltd",
            "city": "Leeds",
            "state": "",
            "country": "UK",
            "postal_code": "LS1",
        },
        "actor": actor_for(None, ip="198.51.100.9"),
    } | overrides
    return actions.accept_invitation(**kwargs)


def test_accepting_completes_details_activates_and_records_the_terms(tree, invited):
    msp, _, token = invited
    user = accept(token, tree)
    msp.refresh_from_db()
    assert (msp.name, msp.city, msp.country, msp.postal_code) == ("Falcon IT Ltd", "Leeds", "UK", "LS1")
    assert msp.portal_access == Access.ACTIVE
    assert (
        user.organisation == msp
        and user.email == "owner@falcon.test"
        and user.check_password(STRONG_PASSWORD)
    )
    assert user.may_sign_in
    acceptance = TermsAcceptance.objects.get(user=user)
    assert (acceptance.organisation, acceptance.terms, acceptance.ip_address) == (
        msp,
        tree.terms,
        "198.51.100.9",
    )
    assert abs(acceptance.accepted_at - timezone.now()) < timedelta(seconds=10)
    rows = {r.action: r for r in AuditEntry.objects.filter(actor_user=user)}
    assert set(rows) == {"invitation.accept", "terms.accept"}
    assert rows["terms.accept"].ip_address == "198.51.100.9" and rows["terms.accept"].channel == "web"
    assert rows["invitation.accept"].changes["details"]["name"] == "Falcon IT Ltd"


def test_a_link_works_once(tree, invited):
    _, _, token = invited
    accept(token, tree)
    with pytest.raises(ValidationError) as exc:
        accept(token, tree, password="Another-strong-pass-77")
    assert exc.value.code == "used"
    assert User.objects.filter(email="owner@falcon.test").count() == 1


def test_a_link_expires_after_seven_days(tree, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    _, invitation, token = actions.invite_msp(
        distributor=tree.dist_a,
        email="late@falcon.test",
        name="L",
        company="Late",
        city="",
        state="",
        country="",
        postal_code="",
        region="",
        actor=actor_for(tree.dist_a_admin),
    )
    time_machine.shift(timedelta(days=7) - timedelta(seconds=1))
    assert invitation.status_at(timezone.now()) == "usable"
    time_machine.shift(timedelta(seconds=1))
    with pytest.raises(ValidationError) as exc:
        accept(token, tree)
    assert exc.value.code == "expired"
    assert not User.objects.filter(email="late@falcon.test").exists()


def test_an_unknown_link_is_refused(tree):
    with pytest.raises(ValidationError) as exc:
        accept("not-a-token", tree)
    assert exc.value.code == "invalid"


def test_withdrawing_access_revokes_the_pending_link(tree, invited):
    msp, invitation, token = invited
    actions.withdraw_portal_access(msp=msp, actor=actor_for(tree.dist_a_admin))
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    with pytest.raises(ValidationError) as exc:
        accept(token, tree)
    assert exc.value.code == "revoked"


def test_the_terms_must_be_accepted_by_an_msp(tree, invited):
    _, invitation, token = invited
    with pytest.raises(ValidationError) as exc:
        accept(token, tree, accept_terms=None)
    assert "accept_terms" in exc.value.error_dict
    invitation.refresh_from_db()
    assert invitation.used_at is None  # refused, so still usable


def test_an_older_terms_version_is_not_enough(tree, invited):
    _, _, token = invited
    actions.publish_terms(text="New rules.", actor=actor_for(tree.vendor_admin))
    with pytest.raises(ValidationError) as exc:
        accept(token, tree, accept_terms=tree.terms)
    assert "accept_terms" in exc.value.error_dict


def test_a_weak_password_leaves_nothing_written(tree, invited):
    msp, invitation, token = invited
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        accept(token, tree, password="12345")
    assert "password" in exc.value.error_dict
    invitation.refresh_from_db()
    msp.refresh_from_db()
    # The link had been marked used and the user built before the refusal: all rolled back.
    assert invitation.used_at is None
    assert msp.name == "Falcon" and msp.portal_access == Access.INVITED
    assert not User.objects.filter(email="owner@falcon.test").exists()
    assert AuditEntry.objects.count() == audit_rows
    assert accept(token, tree).is_active  # and the link still works


def test_the_company_name_cannot_be_blanked(tree, invited):
    _, _, token = invited
    with pytest.raises(ValidationError) as exc:
        accept(token, tree, details={"name": "  ", "city": "Leeds"})
    assert "name" in exc.value.error_dict


def test_first_login_of_a_distributor_sets_the_password(tree):
    org, _, token = actions.create_distributor(
        parent=tree.vendor,
        name="Eastwood",
        region="NA",
        admin_email="erin@eastwood.test",
        admin_name="Erin",
        actor=actor_for(tree.vendor_admin),
    )
    user = accept(token, tree, full_name="", details={"name": "Ignored"})
    org.refresh_from_db()
    assert user.full_name == "Erin" and user.role == "admin"
    assert org.name == "Eastwood" and org.portal_access == Access.ACTIVE  # details are for invited MSPs only


def test_new_vendor_staff_accept_no_terms(tree):
    _, token = actions.invite_user(
        organisation=tree.vendor,
        email="staff@vendor.test",
        full_name="Sam",
        role="admin",
        actor=actor_for(tree.vendor_admin),
    )
    user = accept(token, tree, accept_terms=None, details=None)
    assert user.organisation == tree.vendor
    assert not TermsAcceptance.objects.filter(user=user).exists()


def test_the_email_may_have_been_taken_meanwhile(tree):
    _, token = actions.invite_user(
        organisation=tree.dist_a,
        email="twice@dist-a.test",
        full_name="T",
        role="member",
        actor=actor_for(tree.dist_a_admin),
    )
    User.objects.create_user("TWICE@dist-a.test", STRONG_PASSWORD, organisation=tree.dist_b)
    with pytest.raises(ValidationError) as exc:
        accept(token, tree, details=None)
    assert exc.value.code == "login_exists"
    assert "already has a Keyledger login" in exc.value.messages[0]
    assert Invitation.objects.get(email="twice@dist-a.test").used_at is None


def test_record_terms_acceptance_is_idempotent(tree):
    actor = actor_for(tree.dist_a_admin, ip=IP)
    new = actions.publish_terms(text="Version two.", actor=actor_for(tree.vendor_admin))
    first = actions.record_terms_acceptance(user=tree.dist_a_admin, terms=new, actor=actor)
    again = actions.record_terms_acceptance(user=tree.dist_a_admin, terms=new, actor=actor)
    assert first.pk == again.pk and first.ip_address == IP and first.organisation == tree.dist_a
    assert AuditEntry.objects.filter(action="terms.accept", actor_user=tree.dist_a_admin).count() == 1


def test_publishing_numbers_the_versions_and_files_them_under_the_vendor(tree):
    two = actions.publish_terms(text="Two.", actor=actor_for(tree.vendor_admin))
    three = actions.publish_terms(text="Three.", title="Portal terms", actor=actor_for(tree.vendor_admin))
    assert (two.version, three.version, three.title) == (2, 3, "Portal terms")
    row = AuditEntry.objects.filter(action="terms.publish").latest("id")
    assert row.organisation == tree.vendor and row.changes["version"] == 3
    with pytest.raises(ValidationError):
        actions.publish_terms(text="  ", actor=actor_for(tree.vendor_admin))


def test_an_expired_first_login_can_be_sent_again(
    tree, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(timezone.now(), tick=False)
    org, first, old_token = actions.create_distributor(
        parent=tree.vendor,
        name="Eastwood",
        region="NA",
        admin_email="erin@eastwood.test",
        admin_name="Erin",
        actor=actor_for(tree.vendor_admin),
    )
    time_machine.shift(timedelta(days=8))
    with django_capture_on_commit_callbacks(execute=True):
        again, token = actions.resend_invitation(organisation=org, actor=actor_for(tree.vendor_admin))
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert (again.email, again.full_name, again.purpose) == ("erin@eastwood.test", "Erin", "first_login")
    assert mailoutbox[-1].to == ["erin@eastwood.test"] and token in mailoutbox[-1].body
    with pytest.raises(ValidationError) as exc:
        accept(old_token, tree, details=None)
    assert exc.value.code == "revoked"
    assert accept(token, tree, details=None).organisation == org


def test_nothing_to_resend_once_accepted(tree, invited):
    msp, _, token = invited
    accept(token, tree)
    msp.refresh_from_db()
    with pytest.raises(ValidationError, match="no pending invitation"):
        actions.resend_invitation(organisation=msp, actor=actor_for(tree.dist_a_admin))


def test_a_mistyped_first_login_is_revoked_and_sent_to_the_right_address(tree):
    org, first, old_token = actions.create_distributor(
        parent=tree.vendor,
        name="Eastwood",
        region="NA",
        admin_email="erin@eastwod.test",
        admin_name="Erin",
        actor=actor_for(tree.vendor_admin),
    )
    actions.revoke_invitation(invitation=first, actor=actor_for(tree.vendor_admin))
    row = AuditEntry.objects.get(action="invitation.revoke")
    assert row.organisation == org and row.changes["email"] == "erin@eastwod.test"
    with pytest.raises(ValidationError, match="no longer pending"):
        actions.revoke_invitation(invitation=first, actor=actor_for(tree.vendor_admin))
    again, token = actions.resend_invitation(
        organisation=org, email="erin@eastwood.test", actor=actor_for(tree.vendor_admin)
    )
    assert (again.email, again.full_name) == ("erin@eastwood.test", "Erin")
    with pytest.raises(ValidationError) as exc:
        accept(old_token, tree, details=None)
    assert exc.value.code == "revoked"
    assert accept(token, tree, details=None).email == "erin@eastwood.test"


def test_a_resend_to_an_address_with_a_login_sends_a_note_not_a_link(
    tree, invited, mailoutbox, django_capture_on_commit_callbacks
):
    msp, _, _ = invited
    with django_capture_on_commit_callbacks(execute=True):
        actions.resend_invitation(
            organisation=msp, email="dist-b@example.test", actor=actor_for(tree.dist_a_admin)
        )
    # Done as for any address (the old link stops working), but the mail carries no link.
    assert msp.invitations.filter(revoked_at__isnull=True).get().email == "dist-b@example.test"
    (mail,) = mailoutbox
    assert mail.to == ["dist-b@example.test"] and "/invitations/" not in mail.body
    assert "already has a Keyledger portal login" in mail.body
