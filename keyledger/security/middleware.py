from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from keyledger.security import sessions
from keyledger.security.models import SignInSession

# last_seen_at is written at most this often per session: one cheap UPDATE a minute.
SEEN_EVERY = timedelta(minutes=1)

_SIGNED_OUT = {
    SignInSession.End.IDLE: "You were signed out after a long time without activity. Please sign in again.",
    SignInSession.End.LIFETIME: "Your session reached its maximum age and was signed out. Please sign in again.",
}


class SignInSessionMiddleware:
    """Signs out a session idle too long or past its maximum age, and notes when and from
    where a session was last seen. It reads the session row the request loads anyway
    (keyledger.security.session_store), so it costs no query but the once-a-minute UPDATE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/static/"):
            return self.get_response(request)
        sessions.note_client(request)
        row = sessions.current_row(request) if request.user.is_authenticated else None
        if row is not None:
            now = timezone.now()
            reason = row.end_reason_at(now)
            if reason is not None:
                logout(request)
                messages.info(request, _SIGNED_OUT[reason])
                return redirect_to_login(request.get_full_path())
            if now - row.last_seen_at >= SEEN_EVERY:
                ip, agent = request.session.client
                # Compare-and-set: of two requests at once, one writes.
                SignInSession.objects.filter(pk=row.pk, last_seen_at=row.last_seen_at).update(
                    last_seen_at=now, ip_address=ip, user_agent=agent
                )
        return self.get_response(request)
