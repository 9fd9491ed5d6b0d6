from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from keyledger.api.actions import create_token
from keyledger.api.models import ApiToken, ApiTokenAddress
from keyledger.audit.actor import Actor
from keyledger.organisations.models import Organisation, User

API = "/api/v1"
TEST_CLIENT_IP = "127.0.0.1"  # REMOTE_ADDR of Django's test client


class ApiClient:
    """The test client speaking JSON with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None, **extra: Any):
        """`headers` are HTTP headers; `extra` is WSGI environ (e.g. REMOTE_ADDR)."""
        headers = dict(headers or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        call = getattr(self.client, method.lower())
        url = path if path.startswith(API) else API + path
        if method.upper() in ("GET", "HEAD"):
            return call(url, body or {}, headers=headers, **extra)
        data = body if body is not None else {}
        return call(url, data, content_type="application/json", headers=headers, **extra)

    def get(self, path: str, params: dict | None = None, **kw: Any):
        return self.request("GET", path, params, **kw)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):
        return self.request("PATCH", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any):
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any):
        return self.request("DELETE", path, None, **kw)


def make_token(
    organisation: Organisation, *, scope: str = ApiToken.Scope.READ_WRITE, user: User | None = None
) -> tuple[ApiToken, str]:
    """A token already used from the test client's address: a test's first request does what any
    other does, without the audit row of a new address (tests/api/test_token_bounds.py)."""
    if user is None:
        user = organisation.users.filter(role="admin").first()
    token, secret = create_token(
        organisation=organisation, name="Test token", scope=scope, actor=Actor(user=user)
    )
    ApiTokenAddress.objects.create(token=token, ip=TEST_CLIENT_IP)
    ApiToken.objects.filter(pk=token.pk).update(last_ip=TEST_CLIENT_IP)
    token.last_ip = TEST_CLIENT_IP
    return token, secret


@pytest.fixture
def api_for() -> Callable[..., ApiClient]:
    """api_for(organisation, scope=...): a JSON client with a fresh token of that organisation."""

    def build(organisation: Organisation, scope: str = ApiToken.Scope.READ_WRITE) -> ApiClient:
        return ApiClient(make_token(organisation, scope=scope)[1])

    return build
