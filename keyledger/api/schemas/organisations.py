from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from keyledger.api.schemas.common import (
    BodyIn,
    Email,
    Id,
    Name,
    Place,
    PostalCode,
    RequiredName,
    RequiredPlace,
)
from keyledger.organisations.models import Organisation


class AgreementOut(Schema):
    may_invite_msps: bool
    may_provision_cloud: bool
    may_create_subdistributors: bool


class OrganisationOut(Schema):
    id: int
    kind: str = Field(description="vendor, distributor or msp")
    kind_label: str = Field(description="Vendor, Distributor, Sub-distributor, Master MSP or MSP")
    name: str
    parent_id: int | None = Field(
        description="The organisation directly above; null for the token's own organisation, "
        "whose parent is outside the token's reach"
    )
    region: str
    city: str
    state: str
    country: str
    postal_code: str
    portal_access: str = Field(description="none, invited, active or withdrawn")
    agreement: AgreementOut | None = Field(description="A distributor's agreement; null for others")
    created_at: datetime

    @staticmethod
    def resolve_parent_id(obj: Organisation, context: dict[str, Any]) -> int | None:
        # Only the token's own organisation has a parent above the token: not the token's to know.
        viewer = context["request"].auth.organisation
        return None if obj.pk == viewer.pk else obj.parent_id

    @staticmethod
    def resolve_agreement(obj: Organisation) -> dict | None:
        if obj.kind != Organisation.Kind.DISTRIBUTOR:
            return None
        return {
            "may_invite_msps": obj.may_invite_msps,
            "may_provision_cloud": obj.may_provision_cloud,
            "may_create_subdistributors": obj.may_create_subdistributors,
        }


class OrganisationFilter(Schema):
    kind: Organisation.Kind | None = None
    parent_id: Id | None = Field(None, description="Only the organisations directly below this one")


class NewMspIn(BodyIn):
    """New MSP: an MSP without portal access, whose keys the distributor manages."""

    name: RequiredName
    city: Place = ""
    state: Place = ""
    country: Place = ""
    postal_code: PostalCode = ""


class InviteIn(BodyIn):
    """Invite: an MSP with portal access; the email carries a single-use link."""

    email: Email
    name: Name = Field(description="The name of the person invited")
    company: RequiredName = Field(description="The MSP's name")
    city: Place = ""
    state: Place = ""
    country: Place = ""
    postal_code: PostalCode = ""
    region: Place = Field("", description="Defaults to the distributor's region")


class GrantAccessIn(BodyIn):
    email: Email | None = Field(None, description="Needed when the MSP has no users yet: who is invited")
    name: Name = ""


class InvitationOut(Schema):
    email: str
    expires_at: datetime


class InvitedOut(Schema):
    organisation: OrganisationOut
    invitation: InvitationOut | None = Field(
        description="The emailed single-use link's invitation; null when the organisation's users got access back at once"
    )


class NewDistributorIn(BodyIn):
    name: RequiredName
    region: RequiredPlace = Field(description="The distributor's territory; its MSPs are assigned to it")
    admin_email: Email = Field(description="Who gets the first login link")
    admin_name: Name = ""
    may_invite_msps: bool = False
    may_provision_cloud: bool = False
    may_create_subdistributors: bool = False
    is_master_msp: bool = Field(False, description="A distributor that is also an MSP")
    city: Place = ""
    state: Place = ""
    country: Place = ""
    postal_code: PostalCode = ""


class AgreementIn(BodyIn):
    may_invite_msps: bool
    may_provision_cloud: bool
    may_create_subdistributors: bool
    region: Place
