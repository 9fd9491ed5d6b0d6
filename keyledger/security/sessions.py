"""Web sessions: what the login view, the middleware and the profile page share."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.utils import timezone

from keyledger.audit.actor import Actor, client_ip
from keyledger.organisations.actions.users import adopt_browser_time_zone
from keyledger.organisations.models import User
from keyledger.security import actions
from keyledger.security.devices import describe_device
from keyledger.security.models import SignInSession, hash_session_key


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:400]


# The zone the sign-in page's script read from the browser, kept in the session until every
# step of signing in has passed (a second factor may come between).
BROWSER_TIME_ZONE = "keyledger_browser_time_zone"


def note_browser_time_zone(request: HttpRequest, time_zone: str) -> None:
    request.session[BROWSER_TIME_ZONE] = time_zone[:64]


def note_client(request: HttpRequest) -> None:
    """The session row is written with this request's address and browser."""
    request.session.client = (client_ip(request), user_agent(request))


def complete_sign_in(request: HttpRequest, user: User, *, backend: str | None = None) -> None:
    """Sign the user in on this request once every step (password, second factor) passed:
    the session starts (and is listed on the profile) and the sign-in is audited."""
    note_client(request)
    login(request, user, backend=backend)
    actor = Actor.from_request(request)
    actions.record_sign_in(user=user, device=describe_device(user_agent(request)), actor=actor)
    adopt_browser_time_zone(user=user, time_zone=request.session.pop(BROWSER_TIME_ZONE, ""), actor=actor)


def current_row(request: HttpRequest) -> SignInSession | None:
    """The request's session row as loaded at the start of the request."""
    return getattr(request.session, "row", None)


def is_current(request: HttpRequest, row: SignInSession) -> bool:
    key = request.session.session_key
    return bool(key) and row.session_key == hash_session_key(key)


def sessions_of(user: User) -> list[SignInSession]:
    """The user's sessions that have not run out (those are signed out on their next request)."""
    now = timezone.now()
    return list(
        SignInSession.objects.filter(
            user=user,
            expire_date__gt=now,
            last_seen_at__gt=now - timedelta(hours=settings.KEYLEDGER_SESSION_IDLE_HOURS),
            created_at__gt=now - timedelta(days=settings.KEYLEDGER_SESSION_MAX_DAYS),
        )
        .only("session_key", "ip_address", "user_agent", "created_at", "last_seen_at")
        .order_by("-last_seen_at")
    )
