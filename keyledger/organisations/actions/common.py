"""What the organisation actions share: creating an organisation in the tree, issuing an
emailed invitation, and the checks several of them make."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations import emails
from keyledger.organisations.models import (
    Invitation,
    Organisation,
    User,
    hash_token,
)
from keyledger.organisations.naming import natural_sort_key

Kind = Organisation.Kind
Access = Organisation.PortalAccess
ADDRESS_FIELDS = ("city", "state", "country", "postal_code")


def create_organisation(*, parent: Organisation | None, kind: str, name: str, **fields) -> Organisation:
    name = name.strip()
    org = Organisation.objects.create(
        parent=parent, kind=kind, name=name, sort_name=natural_sort_key(name), **fields
    )
    org.path = org.build_path()
    org.save(update_fields=["path"])
    return org


def issue_invitation(
    *, organisation: Organisation, purpose: str, email: str, full_name: str, role: str, actor: Actor
) -> tuple[Invitation, str]:
    token = Invitation.new_token()
    now = timezone.now()
    invitation = Invitation.objects.create(
        organisation=organisation,
        purpose=purpose,
        email=email.strip().lower(),
        full_name=full_name.strip(),
        role=role,
        token_hash=hash_token(token),
        created_by=actor.user,
        created_at=now,
        expires_at=now + timedelta(days=settings.KEYLEDGER_INVITATION_DAYS),
    )
    # An address that already has a login anywhere gets a note instead of a link (a person
    # belongs to one organisation), and the inviter sees exactly what a new address gives:
    # the portal must not tell anyone who has a login at another organisation.
    if User.objects.filter(email__iexact=invitation.email).exists():
        emails.send_login_exists(invitation=invitation)
    else:
        emails.send_invitation(invitation=invitation, token=token)
    record(
        actor=actor,
        action="invitation.send",
        organisation=organisation,
        obj=invitation,
        changes={
            "email": invitation.email,
            "purpose": purpose,
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    return invitation, token


def check_no_pending_invitation(*, email: str, organisation: Organisation) -> None:
    """One waiting link per address and organisation. Links of other organisations are not
    looked at: saying so would tell who else invites the address."""
    pending = Invitation.objects.pending(timezone.now()).filter(organisation=organisation)
    if pending.filter(email__iexact=email.strip()).exists():
        raise ValidationError({"email": "An invitation for this email is already waiting to be accepted."})


def check_can_hold_msps(distributor: Organisation) -> None:
    if distributor.kind != Kind.DISTRIBUTOR:
        raise ValidationError("MSPs are created by a distributor.")


def check_may_invite(distributor: Organisation) -> None:
    if not distributor.may_invite_msps:
        raise ValidationError("Your agreement does not allow inviting MSPs to the portal.")


def revoke_pending_invitations(org: Organisation) -> int:
    return Invitation.objects.filter(organisation=org, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
