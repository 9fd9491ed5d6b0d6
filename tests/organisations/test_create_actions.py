"""New Distributor, New MSP, Invite and the agreement: the channel's rules and their audit rows."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from keyledger.audit.models import AuditEntry
from keyledger.organisations import actions, emails
from keyledger.organisations.models import Invitation, Organisation
from keyledger.organisations.queries import current_terms
from keyledger.organisations.roles import Role
from tests.organisations.helpers import IP, actor_for

Kind = Organisation.Kind
Access = Organisation.PortalAccess


def test_vendor_creates_a_distributor_with_its_first_login(
    tree, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        org, invitation, token = actions.create_distributor(
            parent=tree.vendor,
            name=" Eastwood Trade ",
            region="NA",
            admin_email="First@Eastwood.test",
            admin_name="Erin East",
            may_invite_msps=True,
            actor=actor_for(tree.vendor_admin),
        )
    assert (org.name, org.kind, org.region, org.portal_access) == (
        "Eastwood Trade",
        Kind.DISTRIBUTOR,
        "NA",
        Access.INVITED,
    )
    assert org.may_invite_msps and not org.may_create_subdistributors
    assert org.path == f"{tree.vendor.path}{org.pk}/"
    assert invitation.purpose == Invitation.Purpose.FIRST_LOGIN
    assert invitation.email == "first@eastwood.test"
    assert invitation.role == Role.ADMIN
    assert invitation.token_hash != token and len(token) >= 40
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["first@eastwood.test"]
    assert token in mailoutbox[0].body
    rows = AuditEntry.objects.filter(organisation=org).order_by("id")
    assert [r.action for r in rows] == ["organisation.create_distributor", "invitation.send"]
    assert all(r.actor_user == tree.vendor_admin and r.ip_address == IP and r.channel == "web" for r in rows)


def test_sub_distributor_is_refused_without_the_agreement_flag(tree):
    with pytest.raises(ValidationError, match="does not allow creating sub-distributors"):
        actions.create_distributor(
            parent=tree.dist_a,
            name="Sub",
            region="EMEA",
            admin_email="s@sub.test",
            actor=actor_for(tree.dist_a_admin),
        )
    assert not Organisation.objects.filter(name="Sub").exists()


def test_sub_distributor_gets_no_more_than_its_parents_agreement(tree):
    tree.dist_a.may_create_subdistributors = True
    tree.dist_a.save(update_fields=["may_create_subdistributors"])
    sub, _, _ = actions.create_distributor(
        parent=tree.dist_a,
        name="Sub",
        region="EMEA",
        admin_email="s@sub.test",
        may_invite_msps=True,
        may_provision_cloud=True,  # dist_a may not provision Cloud Services
        is_master_msp=True,
        actor=actor_for(tree.dist_a_admin),
    )
    assert sub.parent == tree.dist_a and sub.kind_label == "Master MSP"
    assert sub.may_invite_msps and not sub.may_provision_cloud


def test_an_msp_cannot_have_distributors(tree):
    with pytest.raises(ValidationError, match="MSP cannot have distributors"):
        actions.create_distributor(
            parent=tree.msp_a1,
            name="X",
            region="",
            admin_email="x@x.test",
            actor=actor_for(tree.vendor_admin),
        )


@pytest.mark.parametrize("email", ["dist-a@example.test", "DIST-A@example.TEST"])
def test_a_first_login_for_an_address_with_a_login_is_made_as_for_any_address(
    tree, email, mailoutbox, django_capture_on_commit_callbacks
):
    # Refusing would tell the vendor's staff that the address has a login somewhere.
    with django_capture_on_commit_callbacks(execute=True):
        org, invitation, _ = actions.create_distributor(
            parent=tree.vendor, name="Dup", region="", admin_email=email, actor=actor_for(tree.vendor_admin)
        )
    assert invitation.email == "dist-a@example.test" and invitation.organisation == org
    (mail,) = mailoutbox
    assert "/invitations/" not in mail.body and "belongs to one organisation only" in mail.body


def test_two_organisations_may_invite_one_address_and_the_first_link_followed_wins(tree):
    def invite(company: str) -> str:
        _, _, token = actions.invite_msp(
            distributor=tree.dist_a,
            email="new@msp.test",
            name="N",
            company=company,
            city="c",
            state="",
            country="UK",
            postal_code="1",
            region="",
            actor=actor_for(tree.dist_a_admin),
        )
        return token

    first, second = invite("One"), invite("Two")
    terms = current_terms()
    actions.accept_invitation(
        token=second, password="a long password 1", accept_terms=terms, actor=actor_for(None)
    )
    with pytest.raises(ValidationError) as exc:
        actions.accept_invitation(
            token=first, password="a long password 1", accept_terms=terms, actor=actor_for(None)
        )
    assert exc.value.code == "login_exists"
    assert Organisation.objects.get(name="Two").users.get().email == "new@msp.test"


def test_an_expired_invitation_does_not_block_the_email(tree, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    actions.invite_msp(
        distributor=tree.dist_a,
        email="new@msp.test",
        name="N",
        company="One",
        city="c",
        state="",
        country="UK",
        postal_code="1",
        region="",
        actor=actor_for(tree.dist_a_admin),
    )
    time_machine.shift(timedelta(days=7, seconds=1))
    org, _, _ = actions.invite_msp(
        distributor=tree.dist_a,
        email="new@msp.test",
        name="N",
        company="Two",
        city="c",
        state="",
        country="UK",
        postal_code="1",
        region="",
        actor=actor_for(tree.dist_a_admin),
    )
    assert org.name == "Two"


def test_new_msp_has_no_portal_access_and_the_distributors_region(tree):
    msp = actions.create_msp(
        distributor=tree.dist_b,
        name="Emu IT",
        city="Perth",
        state="WA",
        country="Australia",
        postal_code="6000",
        actor=actor_for(tree.dist_b_admin),
    )
    assert (msp.kind, msp.parent, msp.portal_access, msp.region) == (
        Kind.MSP,
        tree.dist_b,
        Access.NONE,
        "APAC",
    )
    assert (msp.city, msp.state, msp.country, msp.postal_code) == ("Perth", "WA", "Australia", "6000")
    assert not msp.invitations.exists()
    row = AuditEntry.objects.get(action="organisation.create_msp")
    assert row.organisation == msp and row.changes["city"] == "Perth" and row.actor_user == tree.dist_b_admin


def test_msps_are_created_by_distributors_only(tree):
    with pytest.raises(ValidationError, match="created by a distributor"):
        actions.create_msp(
            distributor=tree.msp_a1,
            name="X",
            city="",
            state="",
            country="",
            postal_code="",
            actor=actor_for(tree.msp_a1_admin),
        )


def test_invite_creates_an_invited_msp_in_the_region(tree, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        msp, invitation, _ = actions.invite_msp(
            distributor=tree.dist_a,
            email="owner@falcon.test",
            name="Fay Falcon",
            company="Falcon IT",
            city="Leeds",
            state="",
            country="UK",
            postal_code="LS1",
            region="",
            actor=actor_for(tree.dist_a_admin),
        )
    assert (msp.name, msp.portal_access, msp.region) == ("Falcon IT", Access.INVITED, "EMEA")
    assert invitation.purpose == Invitation.Purpose.MSP_INVITE and invitation.full_name == "Fay Falcon"
    assert mailoutbox[0].subject == "Confirm your Keyledger portal account for Falcon IT"
    assert "Northwind Distribution has invited Falcon IT" in mailoutbox[0].body
    assert {r.action for r in AuditEntry.objects.filter(organisation=msp)} == {
        "organisation.invite_msp",
        "invitation.send",
    }


def test_invite_keeps_an_explicit_region(tree):
    msp, _, _ = actions.invite_msp(
        distributor=tree.dist_a,
        email="o@f.test",
        name="F",
        company="F",
        city="",
        state="",
        country="",
        postal_code="",
        region="Nordics",
        actor=actor_for(tree.dist_a_admin),
    )
    assert msp.region == "Nordics"


def test_invite_is_refused_without_the_agreement_flag(tree, django_capture_on_commit_callbacks, mailoutbox):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError, match="does not allow inviting"),
    ):
        actions.invite_msp(
            distributor=tree.dist_b,
            email="o@f.test",
            name="F",
            company="Forbidden",
            city="",
            state="",
            country="",
            postal_code="",
            region="",
            actor=actor_for(tree.dist_b_admin),
        )
    assert not Organisation.objects.filter(name="Forbidden").exists()
    assert not mailoutbox


def test_a_failure_part_way_leaves_nothing_written(
    tree, monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    def broken(**kwargs):
        raise RuntimeError("mail queue down")

    before = (Organisation.objects.count(), Invitation.objects.count(), AuditEntry.objects.count())
    monkeypatch.setattr(emails, "send_invitation", broken)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        actions.invite_msp(
            distributor=tree.dist_a,
            email="o@f.test",
            name="F",
            company="Halfway",
            city="",
            state="",
            country="",
            postal_code="",
            region="",
            actor=actor_for(tree.dist_a_admin),
        )
    # The organisation and its audit row were written before the failure; both are gone.
    assert (Organisation.objects.count(), Invitation.objects.count(), AuditEntry.objects.count()) == before
    assert not mailoutbox


def test_set_agreement_records_what_changed(tree):
    actions.set_agreement(
        distributor=tree.dist_b,
        may_invite_msps=True,
        may_provision_cloud=False,
        may_create_subdistributors=True,
        region="APAC",
        actor=actor_for(tree.vendor_admin),
    )
    tree.dist_b.refresh_from_db()
    assert tree.dist_b.may_invite_msps and tree.dist_b.may_create_subdistributors
    row = AuditEntry.objects.get(action="organisation.set_agreement")
    assert row.changes == {"may_invite_msps": [False, True], "may_create_subdistributors": [False, True]}


def test_only_a_distributor_has_an_agreement(tree):
    with pytest.raises(ValidationError):
        actions.set_agreement(
            distributor=tree.msp_a1,
            may_invite_msps=True,
            may_provision_cloud=False,
            may_create_subdistributors=False,
            region="",
            actor=actor_for(tree.vendor_admin),
        )
