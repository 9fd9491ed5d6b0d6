"""The REST API under /api/v1/, described at /api/v1/openapi.json."""

from ninja import NinjaAPI

from keyledger.api import call_home

api = NinjaAPI(
    title="Keyledger API",
    version="1",
    description="Everything the Keyledger portal does, for programs; and the products' call-home protocol.",
    urls_namespace="api",
)

api.add_router("", call_home.router)
