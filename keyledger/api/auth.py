"""`Authorization: Bearer <token>`: the organisation's API tokens (SPEC §10)."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from keyledger.api.actions import note_address
from keyledger.api.errors import ApiError
from keyledger.api.models import ApiToken, TokenPrincipal, split_token
from keyledger.audit.actor import Actor, Channel, client_ip

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def find_token(text: str) -> ApiToken | None:
    """The token the text is, or None: unknown, mistyped, revoked, or its organisation
    has lost portal access (withdrawing access locks out the organisation's programs too).
    Whether the token may be used now (expiry, its creator) is `ApiToken.refusal`."""
    prefix = split_token(text.strip())
    if prefix is None:
        return None
    token = (
        ApiToken.objects.select_related("organisation", "created_by__organisation")
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
        now = timezone.now()
        refusal = api_token.refusal(now)
        if refusal is not None:
            raise ApiError(401, "unauthorized", refusal)
        # The scope and the creator's role are enforced here for every operation, whatever
        # it checks itself: a token that may change nothing never changes anything.
        if request.method not in SAFE_METHODS and not api_token.may_change:
            raise ApiError(403, "read_only_token", _why_read_only(api_token))
        api_token.record_use(now)
        ip = _valid_ip(client_ip(request))
        if ip is not None and ip != api_token.last_ip:
            note_address(token=api_token, ip=ip, actor=actor_of(api_token, request))
        return api_token.as_principal()


def _valid_ip(text: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(text)) if text else None
    except ValueError:
        return None


def _why_read_only(token: ApiToken) -> str:
    if token.is_read_only:
        return "This API token is read-only."
    user = token.bounding_user
    if user is None:
        return (
            "No user of the organisation stands behind this API token, so it may only read; "
            "an admin can create a new token."
        )
    return (
        f"This API token may do no more than the user who created it ({user.email}), "
        f"whose role ({token.bounding_role_label}) changes nothing."
    )


token_auth = TokenAuth()


def principal(request: HttpRequest) -> TokenPrincipal:
    return request.auth  # type: ignore[attr-defined, return-value]


def actor_of(token: ApiToken, request: HttpRequest) -> Actor:
    """Who an API change is recorded as: the token, on behalf of the user who created it."""
    return Actor(user=token.created_by, token=token, ip=client_ip(request), channel=Channel.API)


def actor(request: HttpRequest) -> Actor:
    return actor_of(principal(request).token, request)
