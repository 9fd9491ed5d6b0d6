"""The first middleware: health probes and /metrics answered before the portal's middleware
(no session, no host check, no HTTPS redirect: a load balancer probes by address over
plain HTTP), and for every other request one JSON log line and its metrics.

The log line names the route (the URL pattern's name), never the path: paths carry
invitation and password-reset tokens, and call homes carry product keys in their bodies,
so nothing the client sent is written."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from keyledger.ops import health, metrics

log = logging.getLogger("keyledger.request")

CALL_HOME_ROUTE = "call_home_door"
# Any word can be a method: others are counted together, so no client adds metric series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class OpsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == "/healthz":
            return health.healthz()
        if path == "/readyz":
            return health.readyz()
        if path == "/metrics":
            return metrics_view(request)
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = match.view_name if match else "unmatched"
        status = response.status_code
        method = request.method if request.method in METHODS else "other"
        metrics.REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)
        if route == CALL_HOME_ROUTE:
            metrics.CALL_HOMES.labels(call_home_outcome(response)).inc()
        if settings.KEYLEDGER_REQUEST_LOG:
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "organisation": organisation_id(request),
                },
            )
        return response


def call_home_outcome(response: HttpResponse) -> str:
    """active or deactivated, or the protocol's error code, from the signed answer's body."""
    try:
        body = json.loads(response.content)
        outcome = body["status"] if response.status_code == 200 else body["error"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return "unreadable"
    return outcome if isinstance(outcome, str) and len(outcome) <= 32 else "unreadable"


def organisation_id(request: HttpRequest) -> int | None:
    """The organisation of the API token or the signed-in user, when the request already knew it
    (the lazy user is not loaded here: that would cost a session read on every call home)."""
    principal = getattr(request, "auth", None)
    token = getattr(principal, "token", None)
    if token is not None:
        return token.organisation_id
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return getattr(user, "organisation_id", None)


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.KEYLEDGER_METRICS_TOKEN
    if not token:
        return HttpResponse("Not found\n", status=404, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)
