"""Who is making a change, and through which door. Every action takes one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from keyledger.organisations.models import User


class Channel:
    WEB = "web"
    API = "api"
    CLI = "cli"
    WORKER = "worker"
    PRODUCT = "product"  # an installed product calling home


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    token: Any = None  # keyledger.api.models.ApiToken, when the change came through the API
    ip: str | None = None
    channel: str = Channel.WEB

    @classmethod
    def from_request(cls, request: HttpRequest, *, channel: str = Channel.WEB, token: Any = None) -> Actor:
        user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
        if token is not None and user is None:
            user = getattr(token, "created_by", None)
        return cls(user=user, token=token, ip=client_ip(request), channel=channel)

    @classmethod
    def system(cls, channel: str = Channel.CLI, user: User | None = None) -> Actor:
        return cls(user=user, channel=channel)

    @property
    def label(self) -> str:
        if self.token is not None:
            return f"API token {self.token.prefix}"
        if self.user is not None:
            return self.user.email
        return self.channel


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is set by whoever asks. Behind a proxy,
    # the proxy is expected to rewrite REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None
