"""Organisations: the token's subtree; New MSP, Invite, portal access, New Distributor and
agreements (SPEC sections 2 and 3)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from keyledger.access import get_msp_for_user, get_organisation_for_user, organisations_for_user, require
from keyledger.api.auth import actor, principal, token_auth
from keyledger.api.errors import ERRORS, READ_ERRORS, ApiError, api_field_names, referenced
from keyledger.api.pagination import Pagination
from keyledger.api.schemas.common import PathId
from keyledger.api.schemas.organisations import (
    AgreementIn,
    GrantAccessIn,
    InvitationOut,
    InvitedOut,
    InviteIn,
    NewDistributorIn,
    NewMspIn,
    OrganisationFilter,
    OrganisationOut,
)
from keyledger.organisations import actions
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission

router = Router(tags=["Organisations"], auth=token_auth)
Kind = Organisation.Kind


def _refuse_unless(allowed: bool, detail: str) -> None:
    if not allowed:
        raise ApiError(403, "not_allowed_by_agreement", detail)


def _refuse_own(request: HttpRequest, org: Organisation) -> None:
    # An organisation reaches itself, but its onboarding is the organisation above's to manage.
    if org.pk == principal(request).organisation.pk:
        raise PermissionDenied("Your portal access is managed by the organisation above you.")


def _msp_managed_by_caller(request: HttpRequest, msp_id: int) -> Organisation:
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    msp = get_msp_for_user(principal(request), msp_id)
    _refuse_own(request, msp)
    return msp


@router.get(
    "/organisations", response={200: list[OrganisationOut], **READ_ERRORS}, summary="List organisations"
)
@paginate(Pagination)
def list_organisations(request: HttpRequest, filters: Query[OrganisationFilter]):
    """The token's organisation and every organisation below it."""
    qs = organisations_for_user(principal(request)).select_related("parent").order_by("path")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.parent_id is not None:
        parent = referenced("parent_id", get_organisation_for_user, principal(request), filters.parent_id)
        qs = qs.filter(parent=parent)
    return qs


@router.get(
    "/organisations/{organisation_id}",
    response={200: OrganisationOut, **READ_ERRORS},
    summary="Get an organisation",
)
def get_organisation(request: HttpRequest, organisation_id: PathId):
    return get_organisation_for_user(principal(request), organisation_id)


@router.post(
    "/organisations/{organisation_id}/msps",
    response={201: OrganisationOut, **ERRORS},
    summary="New MSP (without portal access)",
)
def create_msp(request: HttpRequest, organisation_id: PathId, payload: NewMspIn):
    """The distributor enters the MSP's name and address; it manages that MSP's keys."""
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    distributor = get_organisation_for_user(principal(request), organisation_id, kind=Kind.DISTRIBUTOR)
    msp = actions.create_msp(distributor=distributor, **payload.dict(), actor=actor(request))
    return Status(201, msp)


@router.post(
    "/organisations/{organisation_id}/invitations",
    response={201: InvitedOut, **ERRORS},
    summary="Invite an MSP (with portal access)",
)
def invite_msp(request: HttpRequest, organisation_id: PathId, payload: InviteIn):
    """Creates the MSP as invited and emails a single-use link. Refused (403) where the
    distributor's agreement does not allow inviting MSPs."""
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    distributor = get_organisation_for_user(principal(request), organisation_id, kind=Kind.DISTRIBUTOR)
    _refuse_unless(distributor.can_invite_msps, "The agreement does not allow inviting MSPs to the portal.")
    msp, invitation, _ = actions.invite_msp(distributor=distributor, **payload.dict(), actor=actor(request))
    return Status(201, {"organisation": msp, "invitation": invitation})


@router.post(
    "/organisations/{msp_id}/portal-access",
    response={200: InvitedOut, **ERRORS},
    summary="Grant portal access to an MSP",
)
def grant_portal_access(request: HttpRequest, msp_id: PathId, payload: GrantAccessIn):
    """An MSP that has users gets them back at once; one without users is invited by email."""
    msp = _msp_managed_by_caller(request, msp_id)
    _refuse_unless(msp.parent.can_invite_msps, "The agreement does not allow inviting MSPs to the portal.")
    invitation = actions.grant_portal_access(
        msp=msp, email=payload.email or "", name=payload.name, actor=actor(request)
    )
    return {"organisation": msp, "invitation": invitation}


@router.delete(
    "/organisations/{msp_id}/portal-access",
    response={200: OrganisationOut, **ERRORS},
    summary="Withdraw an MSP's portal access",
)
def withdraw_portal_access(request: HttpRequest, msp_id: PathId):
    """Locks the MSP's users (and API tokens) out; its accounts, sites and keys stay."""
    msp = _msp_managed_by_caller(request, msp_id)
    return actions.withdraw_portal_access(msp=msp, actor=actor(request))


@router.post(
    "/organisations/{organisation_id}/distributors",
    response={201: InvitedOut, **ERRORS},
    summary="New Distributor (or sub-distributor)",
)
def create_distributor(request: HttpRequest, organisation_id: PathId, payload: NewDistributorIn):
    """Vendor staff create distributors; a distributor whose agreement allows it creates
    sub-distributors, with no more than its own agreement allows. The first login is an
    emailed single-use link that sets a password."""
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    parent = get_organisation_for_user(principal(request), organisation_id)
    _refuse_unless(parent.can_create_distributors, "The agreement does not allow creating sub-distributors.")
    with api_field_names({"email": "admin_email"}):
        distributor, invitation, _ = actions.create_distributor(
            parent=parent, **payload.dict(), actor=actor(request)
        )
    return Status(201, {"organisation": distributor, "invitation": invitation})


@router.put(
    "/organisations/{organisation_id}/agreement",
    response={200: OrganisationOut, **ERRORS},
    summary="Set a distributor's agreement",
)
def set_agreement(request: HttpRequest, organisation_id: PathId, payload: AgreementIn):
    """Vendor staff only: what the distributor may do, and its region."""
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    distributor = get_organisation_for_user(principal(request), organisation_id, kind=Kind.DISTRIBUTOR)
    if not principal(request).is_vendor_staff:
        raise PermissionDenied("A distributor's agreement is set by vendor staff.")
    return actions.set_agreement(distributor=distributor, **payload.dict(), actor=actor(request))


@router.post(
    "/organisations/{organisation_id}/invitation/resend",
    response={201: InvitationOut, **ERRORS},
    summary="Send a pending invitation again",
)
def resend_invitation(request: HttpRequest, organisation_id: PathId):
    """A fresh link for an invited MSP or distributor whose first login is still pending;
    the old link stops working."""
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    org = get_organisation_for_user(principal(request), organisation_id)
    _refuse_own(request, org)
    if org.kind == Kind.MSP:
        _refuse_unless(
            org.parent.can_invite_msps, "The agreement does not allow inviting MSPs to the portal."
        )
    invitation, _ = actions.resend_invitation(organisation=org, actor=actor(request))
    return Status(201, invitation)
