"""The products' call-home protocol, version 1 (SPEC §7): `POST /api/v1/call-home` and the
public key that verifies its answers, `GET /api/v1/signing-key`.

The body is parsed here rather than by django-ninja so that every refusal has the
protocol's shape (`{"error": …, "detail": …}`), and every answer, refusals included, is
signed over its exact bytes. No session, no CSRF: a product is not a browser.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError

from keyledger.api import ratelimit, signing
from keyledger.api.schemas.common import KEY_PATTERN, MAX_INT
from keyledger.audit.actor import Actor, Channel, client_ip
from keyledger.keys import keyformat
from keyledger.keys.call_home import Outcome, Refusal, Report, call_home

router = Router(tags=["Call home"])

# PostgreSQL text holds no NUL character: refused here, not as a database error.
NoNul = Field(pattern=r"^[^\x00]*$")
Text = Annotated[StrictStr, Field(min_length=1, max_length=200), NoNul]
# A report is a few hundred bytes; anything far larger is refused before it is parsed.
MAX_BODY_BYTES = 64 * 1024


def _whole_number(value: Any) -> Any:
    # JSON does not tell 3 from 3.0, nor does the document's "integer": both are a count.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class MachineIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Text
    hardware_id: Text
    software_id: Text


class CallHomeIn(BaseModel):
    """What the product sends. Fields not listed here are ignored."""

    model_config = ConfigDict(extra="ignore")

    key: Annotated[
        StrictStr,
        Field(
            examples=["ABCDE-FGHJK-MNPQR-STVWX-YZ012"],
            description="As printed; lower case, spaces and missing dashes are accepted.",
            # Stated (keyledger.api.schemas.common), not enforced here: keyformat.normalise
            # refuses with the protocol's own answer (invalid_key_format: length, symbol or check).
            json_schema_extra={"pattern": KEY_PATTERN},
        ),
    ]
    machine: MachineIn
    product: Annotated[StrictStr, Field(max_length=32, examples=["spmsp"])]
    edition: Annotated[StrictStr | None, Field(max_length=32, description="Required for spmsp.")] = None
    version: Annotated[StrictStr, Field(max_length=64), NoNul] = ""
    os: Annotated[StrictStr, Field(max_length=200), NoNul] = ""
    nonce: Annotated[StrictStr, Field(min_length=1, max_length=200, description="Echoed in the answer.")]
    jobs_in_use: Annotated[
        dict[str, Annotated[StrictInt, Field(ge=0, le=MAX_INT), BeforeValidator(_whole_number)]],
        Field(description="For imagemanager: job licenses in use, never more than the key holds."),
    ] = {}


class CallHomeOut(BaseModel):
    key: str
    status: Annotated[str, Field(examples=["active"], description="active or deactivated")]
    lease_expires_at: datetime | None
    next_call_home_after: int
    server_time: datetime
    nonce: str


class CallHomeErrorOut(BaseModel):
    error: Annotated[
        str,
        Field(
            description="invalid_key_format, bad_request, unknown_key, key_in_use, wrong_product, "
            "invalid_field or rate_limited"
        ),
    ]
    detail: str | None = None
    field: str | None = None
    nonce: str | None = None


class SigningKeyOut(BaseModel):
    algorithm: Annotated[str, Field(examples=["ed25519"])]
    public_key: Annotated[str, Field(description="The raw 32-byte Ed25519 public key, base64.")]
    pem: Annotated[str, Field(description="The same key as PEM (SubjectPublicKeyInfo).")]


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its $defs inlined, to stand alone inside the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


_SIGNATURE_HEADER = {
    signing.HEADER: {
        "description": "ed25519=<base64 of the Ed25519 signature over the exact body bytes>; "
        "verify with the key from GET /api/v1/signing-key.",
        "schema": {"type": "string"},
    }
}


def _documented(description: str, model: type[BaseModel], **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**_SIGNATURE_HEADER, **extra},
        "content": {"application/json": {"schema": _inline(model.model_json_schema())}},
    }


_ERROR = CallHomeErrorOut
CALL_HOME_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline(CallHomeIn.model_json_schema())}},
    },
    "responses": {
        "200": _documented("The key's status. A pending request became final.", CallHomeOut),
        "400": _documented("invalid_key_format (detail: length, symbol or check) or bad_request", _ERROR),
        "404": _documented("unknown_key", _ERROR),
        "409": _documented("key_in_use: the key is active on another machine", _ERROR),
        "422": _documented("wrong_product or invalid_field (field names it)", _ERROR),
        "429": _documented(
            "rate_limited",
            _ERROR,
            **{"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
        ),
    },
}


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed(data: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    response[signing.HEADER] = signing.signature_header(body)
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _refuse(
    status: int,
    error: str,
    *,
    detail: str | None = None,
    field: str | None = None,
    nonce: Any = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    data: dict[str, Any] = {"error": error}
    if detail is not None:
        data["detail"] = detail
    if field is not None:
        data["field"] = field
    if isinstance(nonce, str):
        data["nonce"] = nonce[:200]
    return signed(data, status=status, headers=headers)


def _rate_limited(retry_after: int, nonce: Any) -> HttpResponse:
    return _refuse(
        429,
        "rate_limited",
        detail="Too many calls; try again later.",
        nonce=nonce,
        headers={"Retry-After": str(retry_after)},
    )


def _bad_request(exc: PydanticValidationError, nonce: Any) -> HttpResponse:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return _refuse(
        400,
        "bad_request",
        detail=f"{field}: {first['msg']}" if field else first["msg"],
        field=field,
        nonce=nonce,
    )


def _answer(outcome: Outcome, nonce: str) -> HttpResponse:
    lease = outcome.lease_expires_at
    return signed(
        {
            "key": outcome.key,
            "status": "active" if outcome.active else "deactivated",
            "lease_expires_at": _timestamp(lease) if lease else None,
            "next_call_home_after": settings.KEYLEDGER_CALL_HOME_INTERVAL_SECONDS,
            "server_time": _timestamp(outcome.at),
            "nonce": nonce,
        }
    )


def _is_text(value: Any) -> bool:
    """Every string in the parsed body is encodable as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@router.post(
    "/call-home",
    auth=None,
    url_name="call_home",
    summary="A product calls home",
    openapi_extra=CALL_HOME_OPENAPI,
)
def call_home_view(request: HttpRequest) -> HttpResponse:
    """Activate a key on first call, learn of deactivation or reactivation, report state.

    One key, one machine: the same machine unless all three of name, hardware_id and
    software_id differ. Repeating a call is harmless; every answer is signed."""
    ip = client_ip(request) or "unknown"
    retry = ratelimit.hit("call-home-ip", ip, limit=settings.KEYLEDGER_RATE_LIMIT_PER_IP)
    if retry is not None:
        return _rate_limited(retry, None)
    try:
        if _content_length(request) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
            raise RequestDataTooBig
        raw = json.loads(request.body)
    except RequestDataTooBig:
        # Django's own refusal would be an unsigned HTML page; every answer here is signed.
        return _refuse(400, "bad_request", detail="The body is too large.")
    except (ValueError, UnicodeDecodeError) as exc:
        return _refuse(400, "bad_request", detail=f"The body is not JSON: {exc}")
    except RecursionError:
        # Nesting deeper than the parser follows: within the size limit, still not a report.
        return _refuse(400, "bad_request", detail="The body is nested too deeply.")
    # Only an escape or a non-ASCII byte can make a lone surrogate (a UTF-16 body too).
    if (b"\\" in request.body or not request.body.isascii()) and not _is_text(raw):
        # A "\ud800" escape parses, but is no character: it could be neither stored nor echoed.
        return _refuse(400, "bad_request", detail="The body holds a lone surrogate, which is not text.")
    nonce = raw.get("nonce") if isinstance(raw, dict) else None
    if not isinstance(raw, dict):
        return _refuse(400, "bad_request", detail="The body must be a JSON object.")
    try:
        body = CallHomeIn.model_validate(raw)
    except PydanticValidationError as exc:
        return _bad_request(exc, nonce)
    try:
        key = keyformat.normalise(body.key)
    except keyformat.KeyFormatError as exc:
        return _refuse(400, "invalid_key_format", detail=exc.reason.value, field="key", nonce=nonce)
    retry = ratelimit.hit("call-home-key", key, limit=settings.KEYLEDGER_RATE_LIMIT_PER_KEY)
    if retry is not None:
        return _rate_limited(retry, nonce)
    report = Report(
        key=key,
        product=body.product,
        machine_name=body.machine.name,
        hardware_id=body.machine.hardware_id,
        software_id=body.machine.software_id,
        nonce=body.nonce,
        edition=body.edition,
        version=body.version,
        os=body.os,
        jobs_in_use=body.jobs_in_use,
    )
    try:
        outcome = call_home(report=report, actor=Actor(ip=client_ip(request), channel=Channel.PRODUCT))
    except Refusal as refusal:
        return _refuse(
            refusal.status,
            refusal.error,
            detail=refusal.detail or None,
            field=refusal.field,
            nonce=body.nonce,
        )
    return _answer(outcome, body.nonce)


def call_home_wrong_method(request: HttpRequest) -> HttpResponse:
    """Every method but POST (HEAD, OPTIONS and unknown ones too; keyledger/api/urls.py): a
    product that speaks the protocol wrongly still gets an answer it can verify."""
    return _refuse(405, "bad_request", detail="Call home with POST.", headers={"Allow": "POST"})


@router.get(
    "/signing-key",
    auth=None,
    url_name="signing_key",
    response={200: SigningKeyOut},
    summary="The public key that verifies call-home answers",
)
def signing_key_view(request: HttpRequest) -> HttpResponse:
    """Products pin this key and verify the `Keyledger-Signature` header of every answer offline."""
    return signed(
        {
            "algorithm": signing.ALGORITHM,
            "public_key": signing.public_key_base64(),
            "pem": signing.public_key_pem(),
        }
    )
