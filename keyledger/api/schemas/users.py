from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from keyledger.api.schemas.common import BodyIn, Email, Id, LongText, Name
from keyledger.audit.models import AuditEntry
from keyledger.audit.naming import actor_name, is_from_above
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
    organisation_id: Id | None = Field(None, description="Only this organisation's users")


class InviteUserIn(BodyIn):
    email: Email
    full_name: Name = ""
    role: Role = Role.MEMBER


class ChangeRoleIn(BodyIn):
    role: Role


class UserInvitationOut(Schema):
    email: str
    role: Role
    organisation_id: int
    expires_at: datetime


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor: str = Field(
        description="A user's email or an API token's prefix; for someone of an organisation above the "
        "token's, that organisation's name"
    )
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

    # Who acted from an organisation above the token's is not the token's to know: only that
    # organisation's name is shown, as on the portal (keyledger.audit.naming).
    @staticmethod
    def _from_above(obj: AuditEntry, context: dict[str, Any]) -> bool:
        return is_from_above(obj.actor_user, context["request"].auth.organisation)

    @staticmethod
    def resolve_actor(obj: AuditEntry, context: dict[str, Any]) -> str:
        return actor_name(
            actor_user=obj.actor_user, label=obj.actor_label, viewer=context["request"].auth.organisation
        )

    @staticmethod
    def resolve_actor_user_id(obj: AuditEntry, context: dict[str, Any]) -> int | None:
        return None if AuditEntryOut._from_above(obj, context) else obj.actor_user_id

    @staticmethod
    def resolve_actor_token_id(obj: AuditEntry, context: dict[str, Any]) -> int | None:
        return None if AuditEntryOut._from_above(obj, context) else obj.actor_token_id

    @staticmethod
    def resolve_ip_address(obj: AuditEntry, context: dict[str, Any]) -> str | None:
        return None if AuditEntryOut._from_above(obj, context) else obj.ip_address


class AuditFilter(Schema):
    action: LongText | None = Field(None, description='e.g. "key.request_deactivation"')
    organisation_id: Id | None = Field(
        None, description="Only changes to this organisation and those below it"
    )
