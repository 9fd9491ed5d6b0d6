"""Every change to organisations, users, invitations and Terms acceptance.

Each action is keyword-only, atomic, checks the rules of the channel (agreement
flags, kinds of parent) and writes its audit row. Access (is this organisation in
the actor's subtree? may the role do this?) is checked by the caller through
keyledger.access before it calls an action.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations import emails
from keyledger.organisations.models import (
    Invitation,
    Organisation,
    TermsAcceptance,
    TermsVersion,
    User,
    hash_token,
)
from keyledger.organisations.queries import current_terms, latest_organisation_invitation
from keyledger.organisations.roles import Role

Kind = Organisation.Kind
Access = Organisation.PortalAccess
ADDRESS_FIELDS = ("city", "state", "country", "postal_code")


def _create_organisation(*, parent: Organisation | None, kind: str, name: str, **fields) -> Organisation:
    org = Organisation.objects.create(parent=parent, kind=kind, name=name.strip(), **fields)
    org.path = org.build_path()
    org.save(update_fields=["path"])
    return org


def _issue_invitation(
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


def _check_email_free(email: str) -> None:
    if User.objects.filter(email__iexact=email.strip()).exists():
        raise ValidationError({"email": "A user with this email already exists."})


def _check_email_invitable(email: str) -> None:
    """No user has the address, and no other link for it is waiting to be followed: two
    pending invitations for one address would race to create the same user."""
    _check_email_free(email)
    if Invitation.objects.pending(timezone.now()).filter(email__iexact=email.strip()).exists():
        raise ValidationError({"email": "An invitation for this email is already waiting to be accepted."})


@transaction.atomic
def create_vendor(*, name: str, actor: Actor) -> Organisation:
    if Organisation.objects.filter(kind=Kind.VENDOR).exists():
        raise ValidationError("The vendor organisation already exists.")
    org = _create_organisation(parent=None, kind=Kind.VENDOR, name=name, portal_access=Access.ACTIVE)
    record(actor=actor, action="organisation.create_vendor", organisation=org, obj=org)
    return org


@transaction.atomic
def create_distributor(
    *,
    parent: Organisation,
    name: str,
    region: str,
    admin_email: str,
    admin_name: str = "",
    may_invite_msps: bool = False,
    may_provision_cloud: bool = False,
    may_create_subdistributors: bool = False,
    is_master_msp: bool = False,
    city: str = "",
    state: str = "",
    country: str = "",
    postal_code: str = "",
    actor: Actor,
) -> tuple[Organisation, Invitation, str]:
    """Vendor staff (or a distributor whose agreement allows sub-distributors) create a
    distributor and its first login: an emailed single-use link that sets a password."""
    if parent.kind == Kind.MSP:
        raise ValidationError("An MSP cannot have distributors below it.")
    if parent.kind == Kind.DISTRIBUTOR and not parent.may_create_subdistributors:
        raise ValidationError("Your agreement does not allow creating sub-distributors.")
    if parent.kind == Kind.DISTRIBUTOR:
        # A sub-distributor can be given no more than its parent's own agreement allows.
        may_invite_msps = may_invite_msps and parent.may_invite_msps
        may_provision_cloud = may_provision_cloud and parent.may_provision_cloud
        may_create_subdistributors = may_create_subdistributors and parent.may_create_subdistributors
    _check_email_invitable(admin_email)
    org = _create_organisation(
        parent=parent,
        kind=Kind.DISTRIBUTOR,
        name=name,
        region=region.strip(),
        may_invite_msps=may_invite_msps,
        may_provision_cloud=may_provision_cloud,
        may_create_subdistributors=may_create_subdistributors,
        is_master_msp=is_master_msp,
        city=city,
        state=state,
        country=country,
        postal_code=postal_code,
        portal_access=Access.INVITED,
    )
    record(
        actor=actor,
        action="organisation.create_distributor",
        organisation=org,
        obj=org,
        changes={
            "region": org.region,
            "may_invite_msps": org.may_invite_msps,
            "may_provision_cloud": org.may_provision_cloud,
            "may_create_subdistributors": org.may_create_subdistributors,
        },
    )
    invitation, token = _issue_invitation(
        organisation=org,
        purpose=Invitation.Purpose.FIRST_LOGIN,
        email=admin_email,
        full_name=admin_name,
        role=Role.ADMIN,
        actor=actor,
    )
    return org, invitation, token


@transaction.atomic
def set_agreement(
    *,
    distributor: Organisation,
    may_invite_msps: bool,
    may_provision_cloud: bool,
    may_create_subdistributors: bool,
    region: str,
    actor: Actor,
) -> Organisation:
    if distributor.kind != Kind.DISTRIBUTOR:
        raise ValidationError("Only a distributor has an agreement.")
    before = {
        "may_invite_msps": distributor.may_invite_msps,
        "may_provision_cloud": distributor.may_provision_cloud,
        "may_create_subdistributors": distributor.may_create_subdistributors,
        "region": distributor.region,
    }
    distributor.may_invite_msps = may_invite_msps
    distributor.may_provision_cloud = may_provision_cloud
    distributor.may_create_subdistributors = may_create_subdistributors
    distributor.region = region.strip()
    distributor.save(update_fields=list(before))
    after = {k: getattr(distributor, k) for k in before}
    record(
        actor=actor,
        action="organisation.set_agreement",
        organisation=distributor,
        obj=distributor,
        changes={k: [before[k], after[k]] for k in before if before[k] != after[k]},
    )
    return distributor


def _check_can_hold_msps(distributor: Organisation) -> None:
    if distributor.kind != Kind.DISTRIBUTOR:
        raise ValidationError("MSPs are created by a distributor.")


@transaction.atomic
def create_msp(
    *,
    distributor: Organisation,
    name: str,
    city: str,
    state: str,
    country: str,
    postal_code: str,
    actor: Actor,
) -> Organisation:
    """New MSP: an MSP without portal access, whose keys the distributor manages."""
    _check_can_hold_msps(distributor)
    org = _create_organisation(
        parent=distributor,
        kind=Kind.MSP,
        name=name,
        region=distributor.region,
        city=city.strip(),
        state=state.strip(),
        country=country.strip(),
        postal_code=postal_code.strip(),
        portal_access=Access.NONE,
    )
    record(
        actor=actor,
        action="organisation.create_msp",
        organisation=org,
        obj=org,
        changes={k: getattr(org, k) for k in ("name", *ADDRESS_FIELDS, "region")},
    )
    return org


def _check_may_invite(distributor: Organisation) -> None:
    if not distributor.may_invite_msps:
        raise ValidationError("Your agreement does not allow inviting MSPs to the portal.")


@transaction.atomic
def invite_msp(
    *,
    distributor: Organisation,
    email: str,
    name: str,
    company: str,
    city: str,
    state: str,
    country: str,
    postal_code: str,
    region: str,
    actor: Actor,
) -> tuple[Organisation, Invitation, str]:
    """Invite: an MSP with portal access, created as invited; the emailed link lets it
    complete its details, set a password and accept the Terms of Service."""
    _check_can_hold_msps(distributor)
    _check_may_invite(distributor)
    _check_email_invitable(email)
    org = _create_organisation(
        parent=distributor,
        kind=Kind.MSP,
        name=company,
        region=region.strip() or distributor.region,
        city=city.strip(),
        state=state.strip(),
        country=country.strip(),
        postal_code=postal_code.strip(),
        portal_access=Access.INVITED,
    )
    record(
        actor=actor,
        action="organisation.invite_msp",
        organisation=org,
        obj=org,
        changes={k: getattr(org, k) for k in ("name", *ADDRESS_FIELDS, "region")} | {"email": email},
    )
    invitation, token = _issue_invitation(
        organisation=org,
        purpose=Invitation.Purpose.MSP_INVITE,
        email=email,
        full_name=name,
        role=Role.ADMIN,
        actor=actor,
    )
    return org, invitation, token


@transaction.atomic
def grant_portal_access(*, msp: Organisation, email: str, name: str, actor: Actor) -> Invitation | None:
    """Give an MSP created without access (or whose access was withdrawn) the portal.

    An MSP that already has users gets them back at once; one without users is invited.
    An MSP still invited gets a fresh link (the old one stops working), e.g. when it expired.
    """
    if msp.kind != Kind.MSP:
        raise ValidationError("Portal access is granted to MSPs.")
    _check_may_invite(msp.parent)
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
        _revoke_pending_invitations(msp)
        _check_email_invitable(email)
        new = Access.INVITED
        invitation, _ = _issue_invitation(
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


def _revoke_pending_invitations(org: Organisation) -> int:
    return Invitation.objects.filter(organisation=org, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


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
        _check_may_invite(organisation.parent)
    latest = latest_organisation_invitation(organisation)
    if latest is None:
        raise ValidationError("This organisation has no pending invitation to send again.")
    _revoke_pending_invitations(organisation)
    email = email.strip() or latest.email
    _check_email_invitable(email)
    return _issue_invitation(
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
    _revoke_pending_invitations(msp)
    record(
        actor=actor,
        action="organisation.withdraw_portal_access",
        organisation=msp,
        obj=msp,
        changes={"portal_access": [old, Access.WITHDRAWN]},
    )
    return msp


def find_invitation(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organisation__parent").filter(token_hash=hash_token(token)).first()
    )


def terms_required_for(organisation: Organisation) -> TermsVersion | None:
    """The Terms a new user of this organisation must accept; vendor staff keep them instead."""
    if organisation.kind == Kind.VENDOR:
        return None
    return current_terms()


@transaction.atomic
def accept_invitation(
    *,
    token: str,
    password: str,
    full_name: str = "",
    accept_terms: TermsVersion | None = None,
    details: dict[str, str] | None = None,
    actor: Actor,
) -> User:
    """Follow an emailed link: create the user with its password, complete the MSP's
    details, record the Terms acceptance, and open the portal to the organisation.

    Any refusal rolls everything back, the link included: it can be followed again.
    """
    now = timezone.now()
    invitation = find_invitation(token)
    if invitation is None:
        raise ValidationError("This invitation link is not valid.", code="invalid")
    status = invitation.status_at(now)
    if status != "usable":
        raise ValidationError(INVITATION_REFUSALS[status], code=status)
    # Single use even under a double-submit: only one request wins the compare-and-set.
    if not Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(used_at=now):
        raise ValidationError(INVITATION_REFUSALS["used"], code="used")
    org = invitation.organisation
    if org.portal_access in (Access.NONE, Access.WITHDRAWN):
        raise ValidationError(INVITATION_REFUSALS["revoked"], code="revoked")
    _check_email_free(invitation.email)
    terms = terms_required_for(org)
    if terms is not None and (accept_terms is None or accept_terms.pk != terms.pk):
        raise ValidationError({"accept_terms": "Accept the current Terms of Service to use the portal."})
    user = User(
        email=invitation.email,
        full_name=(full_name or invitation.full_name).strip(),
        organisation=org,
        role=invitation.role,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save()
    applied: dict[str, str] = {}
    if details and invitation.purpose == Invitation.Purpose.MSP_INVITE:
        applied = {k: v.strip() for k, v in details.items() if k in ("name", *ADDRESS_FIELDS)}
        if not applied.get("name", org.name):
            raise ValidationError({"name": "The company name is needed."})
        for field, value in applied.items():
            setattr(org, field, value)
        if applied:
            org.save(update_fields=list(applied))
    if org.portal_access == Access.INVITED:
        Organisation.objects.filter(pk=org.pk, portal_access=Access.INVITED).update(
            portal_access=Access.ACTIVE
        )
        org.portal_access = Access.ACTIVE
    user_actor = Actor(user=user, ip=actor.ip, channel=actor.channel)
    record(
        actor=user_actor,
        action="invitation.accept",
        organisation=org,
        obj=user,
        changes={"invitation": invitation.pk, "purpose": invitation.purpose, "details": applied},
    )
    if terms is not None:
        record_terms_acceptance(user=user, terms=terms, actor=user_actor)
    return user


INVITATION_REFUSALS = {
    "used": "This invitation link has already been used.",
    "revoked": "This invitation has been withdrawn.",
    "expired": "This invitation link has expired.",
}


@transaction.atomic
def record_terms_acceptance(*, user: User, terms: TermsVersion, actor: Actor) -> TermsAcceptance:
    acceptance, created = TermsAcceptance.objects.get_or_create(
        user=user,
        terms=terms,
        defaults={"organisation": user.organisation, "ip_address": actor.ip, "accepted_at": timezone.now()},
    )
    if created:
        record(
            actor=actor,
            action="terms.accept",
            organisation=user.organisation,
            obj=acceptance,
            changes={"version": terms.version},
        )
    return acceptance


@transaction.atomic
def publish_terms(*, text: str, title: str = "Terms of Service", actor: Actor) -> TermsVersion:
    """A new version, which every user outside the vendor accepts at their next request."""
    if not text.strip():
        raise ValidationError({"text": "The Terms of Service need a text."})
    latest = TermsVersion.objects.select_for_update().order_by("-version").first()
    terms = TermsVersion.objects.create(
        version=(latest.version + 1) if latest else 1,
        title=title.strip() or "Terms of Service",
        text=text.strip(),
        published_at=timezone.now(),
    )
    # Filed under the vendor, so vendor staff find it in their audit log.
    vendor = Organisation.objects.filter(kind=Kind.VENDOR, parent__isnull=True).first()
    record(
        actor=actor,
        action="terms.publish",
        organisation=vendor,
        obj=terms,
        changes={"version": terms.version, "title": terms.title},
    )
    return terms


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": "Choose one of the roles."})


@transaction.atomic
def invite_user(
    *, organisation: Organisation, email: str, full_name: str, role: str, actor: Actor
) -> tuple[Invitation, str]:
    """A new user of an organisation that uses the portal: an emailed link sets the password."""
    if organisation.portal_access != Access.ACTIVE:
        raise ValidationError(
            "This organisation does not use the portal yet; it gets users once its portal access is active."
        )
    _check_role(role)
    _check_email_invitable(email)
    return _issue_invitation(
        organisation=organisation,
        purpose=Invitation.Purpose.USER,
        email=email,
        full_name=full_name,
        role=role,
        actor=actor,
    )


def _check_not_self(user: User, actor: Actor, message: str) -> None:
    # Nobody locks themselves out: another admin (here or above) must do it.
    if actor.user is not None and actor.user.pk == user.pk:
        raise ValidationError(message)


@transaction.atomic
def change_role(*, user: User, role: str, actor: Actor) -> User:
    _check_role(role)
    _check_not_self(user, actor, "You cannot change your own role; ask another admin.")
    old = user.role
    if old == role:
        return user
    if not User.objects.filter(pk=user.pk, role=old).update(role=role):
        raise ValidationError("This user was changed meanwhile; reload the page.")
    user.role = role
    record(
        actor=actor,
        action="user.change_role",
        organisation=user.organisation,
        obj=user,
        changes={"role": [old, role]},
    )
    return user


@transaction.atomic
def deactivate_user(*, user: User, actor: Actor) -> User:
    """The user can no longer sign in and any session of theirs ends; their history stays."""
    _check_not_self(user, actor, "You cannot deactivate yourself; ask another admin.")
    if not User.objects.filter(pk=user.pk, is_active=True).update(is_active=False):
        raise ValidationError("This user is already deactivated.")
    user.is_active = False
    record(
        actor=actor,
        action="user.deactivate",
        organisation=user.organisation,
        obj=user,
        changes={"is_active": [True, False]},
    )
    return user


@transaction.atomic
def reactivate_user(*, user: User, actor: Actor) -> User:
    if not User.objects.filter(pk=user.pk, is_active=False).update(is_active=True):
        raise ValidationError("This user is already active.")
    user.is_active = True
    record(
        actor=actor,
        action="user.reactivate",
        organisation=user.organisation,
        obj=user,
        changes={"is_active": [False, True]},
    )
    return user
