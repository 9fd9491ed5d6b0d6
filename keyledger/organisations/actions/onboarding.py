"""New Distributor, New MSP and Invite, and a distributor's agreement."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.actions.common import (
    ADDRESS_FIELDS,
    Access,
    Kind,
    check_can_hold_msps,
    check_may_invite,
    create_organisation,
    issue_invitation,
)
from keyledger.organisations.models import (
    Invitation,
    Organisation,
)
from keyledger.organisations.roles import Role


@transaction.atomic
def create_vendor(*, name: str, actor: Actor) -> Organisation:
    if Organisation.objects.filter(kind=Kind.VENDOR).exists():
        raise ValidationError("The vendor organisation already exists.")
    org = create_organisation(parent=None, kind=Kind.VENDOR, name=name, portal_access=Access.ACTIVE)
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
    org = create_organisation(
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
    invitation, token = issue_invitation(
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
    check_can_hold_msps(distributor)
    org = create_organisation(
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
    check_can_hold_msps(distributor)
    check_may_invite(distributor)
    org = create_organisation(
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
    invitation, token = issue_invitation(
        organisation=org,
        purpose=Invitation.Purpose.MSP_INVITE,
        email=email,
        full_name=name,
        role=Role.ADMIN,
        actor=actor,
    )
    return org, invitation, token
