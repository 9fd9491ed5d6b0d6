from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from keyledger.api.schemas.common import Email
from keyledger.organisations.roles import Role


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    organisation_id: int
    organisation_name: str = Field(alias="organisation.name")
    role: Role
    is_active: bool
    date_joined: datetime


class UserFilter(Schema):
    organisation_id: int | None = Field(None, description="Only this organisation's users")


class InviteUserIn(Schema):
    email: Email
    full_name: str = ""
    role: Role = Role.MEMBER


class ChangeRoleIn(Schema):
    role: Role


class UserInvitationOut(Schema):
    email: str
    role: Role
    organisation_id: int
    expires_at: datetime


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor: str = Field(alias="actor_label", description="A user's email, or the API token's prefix")
    actor_user_id: int | None
    actor_token_id: int | None
    organisation_id: int | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, Any]
    ip_address: str | None
    channel: str


class AuditFilter(Schema):
    action: str | None = Field(None, description='e.g. "key.request_deactivation"')
    organisation_id: int | None = Field(
        None, description="Only changes to this organisation and those below it"
    )
