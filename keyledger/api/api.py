"""The REST API under /api/v1/, described at /api/v1/openapi.json."""

from ninja import NinjaAPI

from keyledger.api import call_home, errors
from keyledger.api.routers import customers, keys, organisations

api = NinjaAPI(
    title="Keyledger API",
    version="1",
    description=(
        "Everything the Keyledger portal does, for programs; and the products' call-home protocol.\n\n"
        "Authenticate with an API token of your organisation (portal → API tokens): "
        "`Authorization: Bearer <token>`. A token reaches its organisation and everything below it; "
        "anything else answers 404. Read-only tokens get 403 on every change. "
        'Errors answer `{"error": code, "detail": text, "field": name or null}`.'
    ),
    urls_namespace="api",
)
errors.install(api)

api.add_router("", call_home.router)
api.add_router("", organisations.router)
api.add_router("", customers.router)
api.add_router("", keys.router)
