"""The sign-in's second step. The password is checked by the portal's sign-in page; a user
with a second factor is not signed in then: the session only remembers, for a few minutes,
who gave the right password, until the code is given here."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from keyledger.audit.actor import Actor, client_ip
from keyledger.organisations.models import User
from keyledger.security import throttle
from keyledger.security.sessions import complete_sign_in
from keyledger.twofactor import actions
from keyledger.twofactor.devices import has_two_factor, recovery_codes_left
from keyledger.twofactor.forms import SignInCodeForm
from keyledger.twofactor.middleware import VERIFIED_SESSION_KEY

PENDING_SESSION_KEY = "two_factor_pending"
PENDING_SECONDS = 300
WRONG_CODE = "That code is not right. Enter the 6-digit code your app shows now, or a recovery code."


def _paused(verdict: throttle.Verdict) -> str:
    minutes = verdict.wait_minutes
    return (
        f"Too many wrong passwords or codes. Signing in is paused for {minutes} "
        f"minute{'s' if minutes != 1 else ''}; try again after that."
    )


def begin_second_step(request: HttpRequest, user: User, next_url: str) -> HttpResponse | None:
    """Called by the sign-in page after a correct password: a redirect to the second step when
    the user has a second factor, or None to sign in at once."""
    if not has_two_factor(user):
        return None
    request.session[PENDING_SESSION_KEY] = {
        "user_id": user.pk,
        "backend": user.backend,
        "next": next_url,
        "expires": timezone.now().timestamp() + PENDING_SECONDS,
    }
    return redirect("portal:two_factor_sign_in")


def _pending_user(request: HttpRequest) -> tuple[User, dict] | None:
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict) or pending.get("expires", 0) < timezone.now().timestamp():
        return None
    user = User.objects.select_related("organisation").filter(pk=pending.get("user_id")).first()
    # Deactivated (or the organisation's access withdrawn) in the meantime: start again.
    if user is None or not user.may_sign_in:
        return None
    return user, pending


def _after_sign_in(request: HttpRequest, next_url: str) -> str:
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return "portal:home"


@never_cache
@sensitive_post_parameters("code")
def second_step(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    found = _pending_user(request)
    if found is None:
        if PENDING_SESSION_KEY in request.session:
            del request.session[PENDING_SESSION_KEY]
            messages.error(request, "The sign-in took too long. Enter your email and password again.")
        return redirect("portal:login")
    user, pending = found
    form = SignInCodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        ip = client_ip(request)
        verdict = throttle.check(email=user.email, ip=ip)
        if not verdict.allowed:
            form.add_error(None, _paused(verdict))
        else:
            actor = Actor(user=user, ip=ip)
            check = actions.verify_sign_in(user=user, code=form.cleaned_data["code"], actor=actor)
            if check.used is None:
                # Counted with the wrong passwords: a code guessed is a password guessed.
                if check.verdict.allowed:
                    form.add_error("code", WRONG_CODE)
                else:
                    form.add_error(None, _paused(check.verdict))
            else:
                del request.session[PENDING_SESSION_KEY]
                complete_sign_in(request, user, backend=pending["backend"])
                request.session[VERIFIED_SESSION_KEY] = True
                if check.used == "recovery code":
                    messages.warning(
                        request,
                        f"You signed in with a recovery code; {recovery_codes_left(user)} left. "
                        "You can make new ones on your profile.",
                    )
                return redirect(_after_sign_in(request, pending.get("next", "")))
    return render(request, "portal/twofactor/sign_in.html", {"form": form, "email": user.email})
