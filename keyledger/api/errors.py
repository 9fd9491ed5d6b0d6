"""The API's one error shape, as the call-home protocol answers it (SPEC §7):
`{"error": code, "detail": text, "field": name or null}`.

- 400 bad_request: the body is not JSON.
- 401 unauthorized: no token, an unknown, revoked or expired one, or one whose creator is
  deactivated or no longer a user of the organisation.
- 403 forbidden / read_only_token / not_allowed_by_agreement: the token's scope, or the
  organisation's role or agreement, does not allow it.
- 404 not_found: the object does not exist or lies outside the token's subtree.
- 409 conflict (or the rule's own code): the object's state does not allow the change.
- 422 invalid_field: a field is missing or wrong; `field` names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from keyledger.keys import states

if TYPE_CHECKING:
    from ninja import NinjaAPI

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
}


class ErrorOut(Schema):
    error: str
    detail: str
    field: str | None = None


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.body = {"error": error, "detail": detail, "field": field}


# The answers every authenticated operation can give, for the OpenAPI document.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
READ_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@contextmanager
def api_field_names(names: dict[str, str], *, others: Callable[[str], str] | None = None) -> Iterator[None]:
    """Report an action's field errors under the API's field names ("account" → "account_id");
    `others` names the fields not listed."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise

        def rename(field: str) -> str:
            if field in names or field == "__all__" or others is None:
                return names.get(field, field)
            return others(field)

        raise DjangoValidationError({rename(k): v for k, v in exc.error_dict.items()}) from exc


def referenced[T](field: str, lookup: Callable[..., T], *args: Any) -> T:
    """Fetch an object named by a body field through the door; 404 names the field."""
    try:
        return lookup(*args)
    except Http404 as exc:
        raise ApiError(404, "not_found", str(exc) or "Not found.", field=field) from None


def _field_of(loc: tuple | list) -> str | None:
    # ninja reports ("body", "payload", "name") or ("query", "msp_id"): the client knows only "name".
    parts = [str(p) for p in loc[1:]]
    if loc and loc[0] == "body" and parts:
        parts = parts[1:]
    return ".".join(parts) or None


def _django_validation_error(exc: DjangoValidationError) -> tuple[int, dict[str, Any]]:
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        message = " ".join(str(m) for e in errors for m in e.messages)
        if field != "__all__":
            return 422, {"error": "invalid_field", "detail": message, "field": field}
        code = errors[0].code
    else:
        message = " ".join(exc.messages)
        code = exc.error_list[0].code if exc.error_list else None
    return 409, {"error": code or "conflict", "detail": message, "field": None}


def install(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        response = respond(request, exc.status, exc.body)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="keyledger"'
        return response

    @api.exception_handler(AuthenticationError)
    def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(
            request,
            401,
            {
                "error": "unauthorized",
                "detail": "Send a valid API token: Authorization: Bearer <token>.",
                "field": None,
            },
        )
        response["WWW-Authenticate"] = 'Bearer realm="keyledger"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = _CODES_BY_STATUS.get(exc.status_code, "error")
        return respond(request, exc.status_code, {"error": code, "detail": str(exc), "field": None})

    @api.exception_handler(NinjaValidationError)
    def invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        message = str(first.get("msg", "Invalid input."))
        # Our own validators' messages are meant for people; pydantic prefixes them.
        message = message.removeprefix("Value error, ")
        return respond(
            request,
            422,
            {
                "error": "invalid_field",
                "detail": message,
                "field": _field_of(first.get("loc", ())),
            },
        )

    @api.exception_handler(DjangoValidationError)
    def rule_violated(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        status, body = _django_validation_error(exc)
        return respond(request, status, body)

    @api.exception_handler(states.Conflict)
    def changed_meanwhile(request: HttpRequest, exc: states.Conflict) -> HttpResponse:
        detail = "The key changed meanwhile; fetch it again and retry."
        return respond(request, 409, {"error": "conflict", "detail": detail, "field": None})

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return respond(
            request, 403, {"error": "forbidden", "detail": str(exc) or "Forbidden.", "field": None}
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(
            request, 404, {"error": "not_found", "detail": str(exc) or "Not found.", "field": None}
        )
