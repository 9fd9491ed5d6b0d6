from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from keyledger.audit.actor import client_ip
from keyledger.security import sessions
from keyledger.security.models import SignInSession

# last_seen_at is written at most this often per session: one cheap UPDATE a minute.
SEEN_EVERY = timedelta(minutes=1)

_SIGNED_OUT = {
    SignInSession.End.IDLE: "You were signed out after a long time without activity. Please sign in again.",
    SignInSession.End.LIFETIME: "Your session reached its maximum age and was signed out. Please sign in again.",
    SignInSession.End.ENDED: "This session was signed out from another session or by a password change. "
    "Please sign in again.",
}


class SignInSessionMiddleware:
    """Keeps each signed-in session's row: signs out a session that was ended elsewhere, has
    been idle too long or reached its maximum age; notes when it was last seen."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/static/"):
            return self.get_response(request)
        if not request.user.is_authenticated:
            if sessions.current_token(request):
                # Signed in once, refused now (password changed elsewhere, user deactivated,
                # portal access withdrawn): the session is no longer listed.
                sessions.forget(request)
            return self.get_response(request)
        user = request.user
        if sessions.current_token(request) is None:
            sessions.adopt(request, user)
            return self.get_response(request)
        row = sessions.find(request, user)
        now = timezone.now()
        reason = SignInSession.End.ENDED if row is None else row.end_reason_at(now)
        if reason is not None:
            if row is not None:
                row.delete()
            logout(request)
            messages.info(request, _SIGNED_OUT[reason])
            return redirect_to_login(request.get_full_path())
        if now - row.last_seen_at >= SEEN_EVERY:
            # Compare-and-set: of two requests at once, one writes.
            SignInSession.objects.filter(pk=row.pk, last_seen_at=row.last_seen_at).update(
                last_seen_at=now, ip_address=client_ip(request)
            )
        return self.get_response(request)
