"""The REST API under /api/v1/, described at /api/v1/openapi.json."""

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from keyledger.api import call_home, errors
from keyledger.api.routers import customers, keys, organisations, price_lists, reports, statements, users


class KeyledgerAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        for methods in schema["paths"].values():
            for operation in methods.values():
                if "responses" in operation:
                    operation["responses"] = _one_entry_per_status(operation["responses"])
        return schema


def _one_entry_per_status(responses: dict[Any, Any]) -> dict[str, Any]:
    """ninja keys its own responses by int and documents openapi_extra's by str: 200 and "200"
    would both be written as "200", a duplicate key that strict readers (Swagger UI) refuse.
    The explicitly documented entry wins."""
    merged: dict[str, Any] = {}
    for status, entry in sorted(responses.items(), key=lambda item: isinstance(item[0], str)):
        merged[str(status)] = entry
    return merged


api = KeyledgerAPI(
    title="Keyledger API",
    version="1",
    description=(
        "Everything the Keyledger portal does, for programs; and the products' call-home protocol.\n\n"
        "Authenticate with an API token of your organisation (portal → API tokens): "
        "`Authorization: Bearer <token>`. A token reaches its organisation and everything below it; "
        "anything else answers 404. Read-only tokens get 403 on every change. A token never does "
        "more than the user who created it may do now (their current role); it answers 401 once that "
        "user is deactivated or no longer of the organisation, and once it has expired. "
        "Input the API cannot take (an id or offset above 2^63-1, a body that is not a JSON object) "
        "is a 422. "
        'Errors answer `{"error": code, "detail": text, "field": name or null}`.'
    ),
    urls_namespace="api",
)
errors.install(api)

api.add_router("", call_home.router)
api.add_router("", organisations.router)
api.add_router("", customers.router)
api.add_router("", keys.router)
api.add_router("", users.router)
api.add_router("", reports.router)
api.add_router("", statements.router)
api.add_router("", price_lists.router)
