"""`Authorization: Bearer <token>`: the organisation's API tokens (SPEC §10)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from keyledger.api.errors import ApiError
from keyledger.api.models import ApiToken, TokenPrincipal, split_token
from keyledger.audit.actor import Actor, Channel, client_ip

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def find_token(text: str) -> ApiToken | None:
    """The live token the text is, or None: unknown, mistyped, revoked, or its organisation
    has lost portal access (withdrawing access locks out the organisation's programs too)."""
    prefix = split_token(text.strip())
    if prefix is None:
        return None
    token = (
        ApiToken.objects.select_related("organisation", "created_by")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.matches(text.strip()):
        return None
    if not token.organisation.has_portal_access:
        return None
    return token


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> TokenPrincipal | None:
        api_token = find_token(token)
        if api_token is None:
            return None
        # The scope is enforced here for every operation, whatever it checks itself:
        # a read-only token never changes anything.
        if api_token.is_read_only and request.method not in SAFE_METHODS:
            raise ApiError(403, "read_only_token", "This API token is read-only.")
        api_token.record_use(timezone.now())
        return api_token.as_principal()


token_auth = TokenAuth()


def principal(request: HttpRequest) -> TokenPrincipal:
    return request.auth  # type: ignore[attr-defined, return-value]


def actor(request: HttpRequest) -> Actor:
    """Who an API change is recorded as: the token, on behalf of the admin who created it."""
    token = principal(request).token
    return Actor(user=token.created_by, token=token, ip=client_ip(request), channel=Channel.API)
