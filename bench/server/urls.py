"""Keyledger's URLs plus the benchmark's no-op endpoint, the ceiling call home is compared with:
the same server, processes, middleware and request body, and no work behind the view."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from keyledger.urls import urlpatterns as keyledger_urlpatterns

NO_OP_PATH = "bench/no-op"
# About the size of a call-home answer, so that both send the same bytes back.
_ANSWER = (
    b'{"key": "00000-00000-00000-00000-00000", "status": "active", "lease_expires_at": '
    b'"2026-12-31T10:00:00Z", "next_call_home_after": 86400, "server_time": '
    b'"2026-12-01T10:00:00Z", "nonce": "0"}'
)


@csrf_exempt
def no_op(request: HttpRequest) -> HttpResponse:
    """Reads the body as call home does, and answers without looking at it."""
    request.body  # noqa: B018 (the body is read, as call home reads it)
    return HttpResponse(_ANSWER, content_type="application/json")


urlpatterns = [path(NO_OP_PATH, no_op, name="bench_no_op"), *keyledger_urlpatterns]
