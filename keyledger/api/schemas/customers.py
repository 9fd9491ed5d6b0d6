from datetime import datetime

from ninja import Schema
from pydantic import Field

from keyledger.api.schemas.common import BodyIn, Id, LongText, RequiredName


class AccountOut(Schema):
    id: int
    msp_id: int
    msp_name: str = Field(alias="msp.name")
    name: str
    address: str
    notes: str
    created_at: datetime


class AccountFilter(Schema):
    msp_id: Id | None = Field(None, description="Only this MSP's accounts")
    name: LongText | None = Field(None, description="Only accounts whose name contains this text")


class AccountIn(BodyIn):
    msp_id: Id = Field(description="The MSP that holds the account")
    name: RequiredName = Field(description="Account Name, unique within the MSP")
    address: LongText = ""
    notes: LongText = ""


class AccountPatch(BodyIn):
    """Only the fields sent are changed."""

    name: RequiredName | None = None
    address: LongText | None = None
    notes: LongText | None = None


class SiteOut(Schema):
    id: int
    account_id: int
    account_name: str = Field(alias="account.name")
    msp_id: int = Field(alias="account.msp_id")
    name: str
    address: str
    notes: str
    created_at: datetime


class SiteFilter(Schema):
    msp_id: Id | None = Field(None, description="Only the sites of this MSP's accounts")
    account_id: Id | None = Field(None, description="Only this account's sites")


class SiteIn(BodyIn):
    account_id: Id
    name: RequiredName = Field(description="Site Name, unique within the account")
    address: LongText = ""
    notes: LongText = ""


class SitePatch(BodyIn):
    """Only the fields sent are changed. Another account_id (of the same MSP) moves the
    site, and its keys, to that account."""

    account_id: Id | None = None
    name: RequiredName | None = None
    address: LongText | None = None
    notes: LongText | None = None
