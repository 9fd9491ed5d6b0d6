"""The profile's password and sessions: changing the password, signing out other sessions."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from keyledger.audit.actor import Actor
from keyledger.portal.forms.auth import ChangePasswordForm, password_policy
from keyledger.security import actions, sessions


def profile_context(request: HttpRequest, *, password_form: ChangePasswordForm | None = None) -> dict:
    """What _password.html and _sessions.html show."""
    user = request.user
    listed = sessions.sessions_of(user)
    for row in listed:
        row.is_this = sessions.is_current(request, row)
    return {
        "password_form": password_form or ChangePasswordForm(user=user),
        "password_policy": password_policy(),
        "sign_in_sessions": listed,
        "other_session_count": sum(1 for row in listed if not row.is_this),
        "session_idle_hours": settings.KEYLEDGER_SESSION_IDLE_HOURS,
        "session_max_days": settings.KEYLEDGER_SESSION_MAX_DAYS,
    }


@sensitive_post_parameters("current_password", "new_password", "new_password_again")
@never_cache
@login_required
@require_POST
def change_password(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    form = ChangePasswordForm(request.POST, user=request.user, ip=actor.ip)
    if not form.is_valid():
        return render(request, "portal/profile/password.html", profile_context(request, password_form=form))
    user = actions.change_password(
        user=request.user,
        password=form.cleaned_data["new_password"],
        keep=request.session.session_key,
        actor=actor,
    )
    # This session goes on with the new password; every other one ends.
    update_session_auth_hash(request, user)
    messages.success(request, "Your password has been changed. Your other sessions have been signed out.")
    return redirect(reverse("portal:profile") + "#password")


@login_required
@require_POST
def sign_out_other_sessions(request: HttpRequest) -> HttpResponse:
    ended = actions.sign_out_other_sessions(
        user=request.user, keep=request.session.session_key, actor=Actor.from_request(request)
    )
    if ended:
        messages.success(request, f"Signed out {ended} other session{'s' if ended != 1 else ''}.")
    else:
        messages.info(request, "There were no other sessions to sign out.")
    return redirect(reverse("portal:profile") + "#sessions")
