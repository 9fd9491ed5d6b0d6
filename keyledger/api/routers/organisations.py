"""Organisations: the token's subtree; New MSP, Invite, portal access (SPEC sections 2 and 3)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from keyledger.access import get_msp_for_user, get_organisation_for_user, organisations_for_user, require
from keyledger.api.auth import actor, principal, token_auth
from keyledger.api.errors import ERRORS, READ_ERRORS, ApiError, referenced
from keyledger.api.pagination import Pagination
from keyledger.api.schemas.organisations import (
    GrantAccessIn,
    InvitedMspOut,
    InviteIn,
    NewMspIn,
    OrganisationFilter,
    OrganisationOut,
)
from keyledger.organisations import actions
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission

router = Router(tags=["Organisations"], auth=token_auth)


def _refuse_unless_agreement_allows_invites(distributor: Organisation) -> None:
    if distributor.kind == Organisation.Kind.DISTRIBUTOR and not distributor.may_invite_msps:
        raise ApiError(
            403,
            "not_allowed_by_agreement",
            "Your agreement does not allow inviting MSPs to the portal.",
        )


def _msp_managed_by_caller(request: HttpRequest, msp_id: int) -> Organisation:
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    msp = get_msp_for_user(principal(request), msp_id)
    # An MSP reaches itself, but its portal access is its distributor's to give or take.
    if msp.pk == principal(request).organisation.pk:
        raise PermissionDenied("An MSP's portal access is managed by its distributor.")
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
def get_organisation(request: HttpRequest, organisation_id: int):
    return get_organisation_for_user(principal(request), organisation_id)


@router.post(
    "/organisations/{organisation_id}/msps",
    response={201: OrganisationOut, **ERRORS},
    summary="New MSP (without portal access)",
)
def create_msp(request: HttpRequest, organisation_id: int, payload: NewMspIn):
    """The distributor enters the MSP's name and address; it manages that MSP's keys."""
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    distributor = get_organisation_for_user(principal(request), organisation_id)
    msp = actions.create_msp(distributor=distributor, **payload.dict(), actor=actor(request))
    return Status(201, msp)


@router.post(
    "/organisations/{organisation_id}/invitations",
    response={201: InvitedMspOut, **ERRORS},
    summary="Invite an MSP (with portal access)",
)
def invite_msp(request: HttpRequest, organisation_id: int, payload: InviteIn):
    """Creates the MSP as invited and emails a single-use link. Refused (403) where the
    distributor's agreement does not allow inviting MSPs."""
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    distributor = get_organisation_for_user(principal(request), organisation_id)
    _refuse_unless_agreement_allows_invites(distributor)
    msp, invitation, _ = actions.invite_msp(distributor=distributor, **payload.dict(), actor=actor(request))
    return Status(201, {"organisation": msp, "invitation": invitation})


@router.post(
    "/organisations/{msp_id}/portal-access",
    response={200: InvitedMspOut, **ERRORS},
    summary="Grant portal access to an MSP",
)
def grant_portal_access(request: HttpRequest, msp_id: int, payload: GrantAccessIn):
    """An MSP that has users gets them back at once; one without users is invited by email."""
    msp = _msp_managed_by_caller(request, msp_id)
    _refuse_unless_agreement_allows_invites(msp.parent)
    invitation = actions.grant_portal_access(
        msp=msp, email=payload.email or "", name=payload.name, actor=actor(request)
    )
    return {"organisation": msp, "invitation": invitation}


@router.delete(
    "/organisations/{msp_id}/portal-access",
    response={200: OrganisationOut, **ERRORS},
    summary="Withdraw an MSP's portal access",
)
def withdraw_portal_access(request: HttpRequest, msp_id: int):
    """Locks the MSP's users (and API tokens) out; its accounts, sites and keys stay."""
    msp = _msp_managed_by_caller(request, msp_id)
    return actions.withdraw_portal_access(msp=msp, actor=actor(request))
