"""Web sessions and their SignInSession rows: what the login view, the middleware and the
profile page share. Each signed-in session keeps a random token (SESSION_ENTRY); its
row is found by the token's hash, which survives Django cycling the session key."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.utils import timezone

from keyledger.audit.actor import Actor, client_ip
from keyledger.organisations.models import User
from keyledger.security import actions
from keyledger.security.models import SESSION_ENTRY, SignInSession, hash_session_token


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:400]


def current_token(request: HttpRequest) -> str | None:
    """The token of the request's session: pass it as `keep` to actions.end_other_sessions."""
    return request.session.get(SESSION_ENTRY)


def complete_sign_in(request: HttpRequest, user: User, *, backend: str | None = None) -> SignInSession:
    """Sign the user in on this request once every step (password, second factor) passed:
    the session starts, is listed on the profile, and the sign-in is audited."""
    login(request, user, backend=backend)
    token = SignInSession.new_token()
    request.session[SESSION_ENTRY] = token
    return actions.record_sign_in(
        user=user, session_token=token, user_agent=user_agent(request), actor=Actor.from_request(request)
    )


def adopt(request: HttpRequest, user: User) -> SignInSession:
    """A session signed in some other way (an accepted invitation, one from before sessions
    were listed) is listed from its next request on."""
    token = SignInSession.new_token()
    request.session[SESSION_ENTRY] = token
    return SignInSession.objects.create(
        user=user,
        token_hash=hash_session_token(token),
        ip_address=client_ip(request),
        user_agent=user_agent(request),
    )


def find(request: HttpRequest, user: User) -> SignInSession | None:
    token = current_token(request)
    if not token:
        return None
    return SignInSession.objects.filter(token_hash=hash_session_token(token), user=user).first()


def forget(request: HttpRequest) -> None:
    token = request.session.pop(SESSION_ENTRY, None)
    if token:
        actions.end_session(session_token=token)


def sessions_of(user: User) -> list[SignInSession]:
    """The user's sessions that have not yet run out (those are signed out on their next request)."""
    now = timezone.now()
    return list(
        SignInSession.objects.filter(
            user=user,
            last_seen_at__gt=now - timedelta(hours=settings.KEYLEDGER_SESSION_IDLE_HOURS),
            created_at__gt=now - timedelta(days=settings.KEYLEDGER_SESSION_MAX_DAYS),
        ).order_by("-last_seen_at", "-id")
    )
