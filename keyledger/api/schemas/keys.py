from datetime import datetime
from typing import Any

from django.utils import timezone
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from keyledger.api.schemas.common import NO_NUL, BodyIn, Id, LongText, ProductKeyText, no_nul, one_of_required
from keyledger.audit.naming import actor_name
from keyledger.keys.models import KeyEvent, ProductKey


class ProductOut(Schema):
    code: str
    name: str
    tab_label: str
    family: str
    max_quantity: int = Field(description="Most keys one Add Key(s) request may source")
    can_deactivate: bool
    editions: list[dict[str, Any]]
    job_license_types: list[dict[str, Any]] = Field(description="Chosen when sourcing, in `fields`")
    key_fields: list[dict[str, Any]] = Field(description="Entered when sourcing, in `fields`")


class MachineOut(Schema):
    name: str
    hardware_id: str
    software_id: str


class KeyOut(Schema):
    id: int
    key: str = Field(description="XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
    product: str = Field(alias="product.code")
    product_name: str = Field(alias="product.name")
    state: ProductKey.State = Field(
        description="As of now: an OK key silent past the critical threshold is critical"
    )
    status: str = Field(description="The label the portal shows for the state")
    msp_id: int
    account_id: int
    account_name: str = Field(alias="account.name")
    site_id: int | None
    site_name: str | None
    fields: dict[str, Any] = Field(
        description="Job licenses or the product's own fields, chosen when sourcing"
    )
    machine: MachineOut | None = Field(
        description="The machine the key is bound to; null until it first calls home"
    )
    edition: str
    version: str
    os: str
    jobs_in_use: dict[str, Any]
    activated_at: datetime | None
    last_call_home_at: datetime | None
    lease_expires_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_state(obj: ProductKey) -> str:
        return obj.state_at(timezone.now())

    @staticmethod
    def resolve_status(obj: ProductKey) -> str:
        return obj.status_label_at(timezone.now())

    @staticmethod
    def resolve_site_name(obj: ProductKey) -> str | None:
        return obj.site.name if obj.site_id else None

    @staticmethod
    def resolve_machine(obj: ProductKey) -> dict | None:
        if not obj.has_machine:
            return None
        return {
            "name": obj.machine_name,
            "hardware_id": obj.machine_hardware_id,
            "software_id": obj.machine_software_id,
        }


class KeyEventOut(Schema):
    at: datetime
    old_state: str = Field(description='"" for the sourcing of the key')
    new_state: str
    cause: KeyEvent.Cause
    actor: str | None = Field(
        description="The person (or the person behind the API token) who made the change"
    )
    via_api_token: bool
    machine_name: str | None
    edition: str
    account_id: int
    site_id: int | None

    @staticmethod
    def resolve_actor(obj: KeyEvent, context: dict[str, Any]) -> str | None:
        if obj.actor_user_id is None:
            return None
        viewer = context["request"].auth.organisation
        return actor_name(actor_user=obj.actor_user, label=obj.actor_user.email, viewer=viewer)

    @staticmethod
    def resolve_via_api_token(obj: KeyEvent) -> bool:
        return obj.actor_token_id is not None


class KeyDetailOut(KeyOut):
    events: list[KeyEventOut] = Field(description="The key's history, oldest first")

    @staticmethod
    def resolve_events(obj: ProductKey) -> list[KeyEvent]:
        return list(obj.events.all())


class KeyFilter(Schema):
    msp_id: Id | None = None
    account_id: Id | None = None
    site_id: Id | None = None
    product: LongText | None = Field(None, description="A product code, e.g. spmsp")
    state: ProductKey.State | None = Field(None, description="As of now (see the key's state)")
    key: ProductKeyText | None = Field(None, description="A product key, typed any way the portal accepts")


def _fields_schema(schema: dict[str, Any]) -> None:
    # What LongText checks of the names and _no_nul_in_values of the values.
    schema.pop("patternProperties", None)
    schema["propertyNames"] = {"pattern": NO_NUL}
    schema["additionalProperties"] = {
        "anyOf": [{"type": "string", "pattern": NO_NUL}, {"not": {"type": "string"}}]
    }


class SourceKeysIn(BodyIn):
    """Add Key(s). Send `Idempotency-Key` to make a retry return the same keys."""

    model_config = ConfigDict(json_schema_extra=one_of_required("account_id", "site_id"))

    product: LongText = Field(description="A product code from GET /products")
    quantity: int = Field(1, description="1 to the product's max_quantity (GRE: always 1)")
    account_id: Id | None = Field(None, description="Required unless site_id is given")
    site_id: Id | None = Field(None, description="A site of the account; the key then belongs to it")
    fields: dict[LongText, Any] = Field(
        default_factory=dict,
        description="Job licenses (ImageManager) or the product's own fields (GRE)",
        json_schema_extra=_fields_schema,
    )

    @field_validator("fields")
    @classmethod
    def _no_nul_in_values(cls, value: dict[str, Any]) -> dict[str, Any]:
        # The values are stored as JSON: PostgreSQL refuses a NUL in it.
        for item in value.values():
            if isinstance(item, str):
                no_nul(item)
        return value


class SourcedKeysOut(Schema):
    items: list[KeyOut]


class MoveKeyIn(BodyIn):
    """Another account or site of the same MSP. A site_id alone moves to that site's account."""

    model_config = ConfigDict(json_schema_extra=one_of_required("account_id", "site_id"))

    account_id: Id | None = None
    site_id: Id | None = None
