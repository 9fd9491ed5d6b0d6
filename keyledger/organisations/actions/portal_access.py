"""An MSP's portal access (grant, withdraw) and the links of organisations still invited
(send again, revoke)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.actions.common import (
    Access,
    Kind,
    check_may_invite,
    issue_invitation,
    revoke_pending_invitations,
)
from keyledger.organisations.models import (
    Invitation,
    Organisation,
)
from keyledger.organisations.queries import latest_organisation_invitation
from keyledger.organisations.roles import Role


@transaction.atomic
def grant_portal_access(*, msp: Organisation, email: str, name: str, actor: Actor) -> Invitation | None:
    """Give an MSP created without access (or whose access was withdrawn) the portal.

    An MSP that already has users gets them back at once; one without users is invited.
    An MSP still invited gets a fresh link (the old one stops working), e.g. when it expired.
    """
    if msp.kind != Kind.MSP:
        raise ValidationError("Portal access is granted to MSPs.")
    check_may_invite(msp.parent)
    if msp.portal_access == Access.ACTIVE:
        raise ValidationError("This MSP already has portal access.")
    old = msp.portal_access
    invitation = None
    if old != Access.INVITED and msp.users.filter(is_active=True).exists():
        new = Access.ACTIVE
    else:
        email = (email or "").strip()
        if not email:
            raise ValidationError({"email": "An email address is needed to send the invitation."})
        revoke_pending_invitations(msp)
        new = Access.INVITED
        invitation, _ = issue_invitation(
            organisation=msp,
            purpose=Invitation.Purpose.MSP_INVITE,
            email=email,
            full_name=name,
            role=Role.ADMIN,
            actor=actor,
        )
    # Compare-and-set: two admins granting at once give one result.
    updated = Organisation.objects.filter(pk=msp.pk, portal_access=old).update(portal_access=new)
    if not updated:
        raise ValidationError("The portal access of this MSP was changed meanwhile; reload the page.")
    msp.portal_access = new
    record(
        actor=actor,
        action="organisation.grant_portal_access",
        organisation=msp,
        obj=msp,
        changes={"portal_access": [old, new]} | ({"email": invitation.email} if invitation else {}),
    )
    return invitation


@transaction.atomic
def resend_invitation(
    *, organisation: Organisation, email: str = "", name: str = "", actor: Actor
) -> tuple[Invitation, str]:
    """A fresh link for an organisation whose first login is still pending (the link expired,
    the email was lost, or went to a mistyped address); the old link stops working."""
    # Locked, so two admins resending at once leave one link, not two.
    organisation = (
        Organisation.objects.select_for_update(of=("self",)).select_related("parent").get(pk=organisation.pk)
    )
    if organisation.portal_access != Access.INVITED:
        raise ValidationError("This organisation has no pending invitation to send again.")
    if organisation.kind == Kind.MSP:
        check_may_invite(organisation.parent)
    latest = latest_organisation_invitation(organisation)
    if latest is None:
        raise ValidationError("This organisation has no pending invitation to send again.")
    revoke_pending_invitations(organisation)
    email = email.strip() or latest.email
    return issue_invitation(
        organisation=organisation,
        purpose=latest.purpose,
        email=email,
        full_name=name.strip() or latest.full_name,
        role=latest.role,
        actor=actor,
    )


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, actor: Actor) -> Invitation:
    """The link stops working at once, e.g. when it went to the wrong address."""
    now = timezone.now()
    if invitation.status_at(now) != "usable" or not Invitation.objects.filter(
        pk=invitation.pk, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now):
        raise ValidationError("This invitation is no longer pending.")
    invitation.revoked_at = now
    record(
        actor=actor,
        action="invitation.revoke",
        organisation=invitation.organisation,
        obj=invitation,
        changes={"email": invitation.email, "purpose": invitation.purpose},
    )
    return invitation


@transaction.atomic
def withdraw_portal_access(*, msp: Organisation, actor: Actor) -> Organisation:
    """Lock an MSP's users out; its accounts, sites and keys stay, and the distributor manages them."""
    if msp.kind != Kind.MSP:
        raise ValidationError("Portal access is withdrawn from MSPs.")
    old = msp.portal_access
    if old in (Access.NONE, Access.WITHDRAWN):
        raise ValidationError("This MSP has no portal access to withdraw.")
    updated = Organisation.objects.filter(pk=msp.pk, portal_access=old).update(portal_access=Access.WITHDRAWN)
    if not updated:
        raise ValidationError("The portal access of this MSP was changed meanwhile; reload the page.")
    msp.portal_access = Access.WITHDRAWN
    revoke_pending_invitations(msp)
    record(
        actor=actor,
        action="organisation.withdraw_portal_access",
        organisation=msp,
        obj=msp,
        changes={"portal_access": [old, Access.WITHDRAWN]},
    )
    return msp
