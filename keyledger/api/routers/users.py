"""Users of the token's subtree, and the audit log (SPEC sections 2 and 11)."""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from keyledger.access import (
    audit_for_user,
    get_organisation_for_user,
    get_user_for_user,
    require,
    users_for_user,
)
from keyledger.api.auth import actor, principal, token_auth
from keyledger.api.errors import ERRORS, READ_ERRORS, referenced
from keyledger.api.pagination import Pagination
from keyledger.api.schemas.common import PathId
from keyledger.api.schemas.users import (
    AuditEntryOut,
    AuditFilter,
    ChangeRoleIn,
    InviteUserIn,
    UserFilter,
    UserInvitationOut,
    UserOut,
)
from keyledger.audit.models import AuditEntry
from keyledger.organisations import actions
from keyledger.organisations.models import User
from keyledger.organisations.roles import Permission

router = Router(tags=["Users and audit log"], auth=token_auth)


def _user(request: HttpRequest, user_id: int) -> User:
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    return get_user_for_user(principal(request), user_id)


@router.get("/users", response={200: list[UserOut], **READ_ERRORS}, summary="List users")
@paginate(Pagination)
def list_users(request: HttpRequest, filters: Query[UserFilter]) -> QuerySet[User]:
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    qs = (
        users_for_user(principal(request))
        .select_related("organisation")
        .order_by("organisation__path", "email")
    )
    if filters.organisation_id is not None:
        org = referenced(
            "organisation_id", get_organisation_for_user, principal(request), filters.organisation_id
        )
        qs = qs.filter(organisation=org)
    return qs


@router.get("/users/{user_id}", response={200: UserOut, **READ_ERRORS}, summary="Get a user")
def get_user(request: HttpRequest, user_id: PathId) -> User:
    return _user(request, user_id)


@router.post(
    "/organisations/{organisation_id}/users",
    response={201: UserInvitationOut, **ERRORS},
    summary="Invite a user",
)
def invite_user(request: HttpRequest, organisation_id: PathId, payload: InviteUserIn):
    """An emailed single-use link lets the new user set a password."""
    require(principal(request), Permission.MANAGE_ORGANISATIONS)
    org = get_organisation_for_user(principal(request), organisation_id)
    invitation, _ = actions.invite_user(organisation=org, **payload.dict(), actor=actor(request))
    return Status(201, invitation)


@router.put("/users/{user_id}/role", response={200: UserOut, **ERRORS}, summary="Change a user's role")
def change_role(request: HttpRequest, user_id: PathId, payload: ChangeRoleIn) -> User:
    return actions.change_role(user=_user(request, user_id), role=payload.role, actor=actor(request))


@router.post("/users/{user_id}/deactivate", response={200: UserOut, **ERRORS}, summary="Deactivate a user")
def deactivate_user(request: HttpRequest, user_id: PathId) -> User:
    """The user can no longer sign in; their history stays."""
    return actions.deactivate_user(user=_user(request, user_id), actor=actor(request))


@router.post("/users/{user_id}/reactivate", response={200: UserOut, **ERRORS}, summary="Reactivate a user")
def reactivate_user(request: HttpRequest, user_id: PathId) -> User:
    return actions.reactivate_user(user=_user(request, user_id), actor=actor(request))


@router.get("/audit-log", response={200: list[AuditEntryOut], **READ_ERRORS}, summary="The audit log")
@paginate(Pagination)
def audit_log(request: HttpRequest, filters: Query[AuditFilter]) -> QuerySet[AuditEntry]:
    """Every change in the token's subtree, newest first: who (user or API token), what, when, from where."""
    require(principal(request), Permission.VIEW_AUDIT)
    qs = audit_for_user(principal(request)).select_related("actor_user__organisation").order_by("-at", "-id")
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.organisation_id is not None:
        org = referenced(
            "organisation_id", get_organisation_for_user, principal(request), filters.organisation_id
        )
        qs = qs.filter(organisation_path__startswith=org.path)
    return qs
