"""Setting up, and turning off, one's own second factor; new recovery codes."""

from __future__ import annotations

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from keyledger.audit.actor import Actor, client_ip
from keyledger.portal.forms.errors import add_action_errors
from keyledger.security import throttle
from keyledger.security.actions import record_failed_sign_in
from keyledger.twofactor import actions
from keyledger.twofactor.devices import has_two_factor, otpauth_uri
from keyledger.twofactor.forms import ConfirmCodeForm, DisableForm
from keyledger.twofactor.middleware import VERIFIED_SESSION_KEY
from keyledger.twofactor.policy import required_for

SETUP_KEY = "two_factor_setup_key"
NEW_CODES_KEY = "two_factor_new_codes"


def _qr_svg(uri: str) -> str:
    # An inline <svg> of paths and attributes only: the strict CSP allows no inline styles.
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=2, dark="#000", light="#fff", title="QR code of the secret", svgclass="qr-code"
    )
    return mark_safe(svg)


def _not_paused(request: HttpRequest, form: forms.Form) -> bool:
    """Guesses from a session left open count like sign-in guesses: new recovery codes or
    turning it off would hand a second factor to whoever guessed right."""
    verdict = throttle.check(email=request.user.email, ip=client_ip(request))
    if not verdict.allowed:
        minutes = verdict.wait_minutes
        plural = "s" if minutes != 1 else ""
        form.add_error(None, f"Too many wrong passwords or codes. Try again in {minutes} minute{plural}.")
    return verdict.allowed


def _count_failure(request: HttpRequest, exc: ValidationError, reason: str) -> None:
    if hasattr(exc, "error_dict") and {"password", "code"} & set(exc.error_dict):
        record_failed_sign_in(email=request.user.email, actor=Actor.from_request(request), reason=reason)


def _show_codes(request: HttpRequest, codes: list[str]) -> HttpResponse:
    # Shown once: the page after the redirect takes them out of the session.
    request.session[NEW_CODES_KEY] = codes
    return redirect("portal:two_factor_recovery_codes")


@never_cache
@sensitive_post_parameters("code")
@login_required
def set_up(request: HttpRequest) -> HttpResponse:
    user = request.user
    if has_two_factor(user):
        messages.info(request, "Two-factor authentication is already on.")
        return redirect("portal:profile")
    # The secret waits in the session (stored on the server) until a code confirms it.
    key = request.session.get(SETUP_KEY) or actions.new_secret()
    request.session[SETUP_KEY] = key
    form = ConfirmCodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            codes = actions.enrol(
                user=user,
                key=key,
                code=form.cleaned_data["code"],
                actor=Actor.from_request(request),
                keep_session=request.session.session_key,
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            del request.session[SETUP_KEY]
            request.session[VERIFIED_SESSION_KEY] = True
            messages.success(
                request, "Two-factor authentication is on. Your other sessions, if any, are signed out."
            )
            return _show_codes(request, codes)
    uri = otpauth_uri(user.email, key)
    context = {
        "form": form,
        "qr_svg": _qr_svg(uri),
        "secret": actions.secret_for_people(key),
        "requirement": required_for(user),
    }
    return render(request, "portal/twofactor/set_up.html", context)


@never_cache
@sensitive_post_parameters("code")
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """GET: the codes just made, once. POST: new codes, confirmed by a code from the app."""
    user = request.user
    form = ConfirmCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid() and _not_paused(request, form):
            try:
                codes = actions.regenerate_recovery_codes(
                    user=user, code=form.cleaned_data["code"], actor=Actor.from_request(request)
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
                _count_failure(request, exc, "wrong two-factor code (new recovery codes)")
            else:
                messages.success(request, "New recovery codes are ready; the old ones no longer work.")
                return _show_codes(request, codes)
        return render(request, "portal/twofactor/new_recovery_codes.html", {"form": form})
    codes = request.session.pop(NEW_CODES_KEY, None)
    if not codes:
        if not has_two_factor(user):
            return redirect("portal:profile")
        return render(request, "portal/twofactor/new_recovery_codes.html", {"form": form})
    return render(request, "portal/twofactor/recovery_codes.html", {"codes": codes})


@never_cache
@sensitive_post_parameters("password", "code")
@login_required
def turn_off(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not has_two_factor(user):
        return redirect("portal:profile")
    form = DisableForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and _not_paused(request, form):
        try:
            actions.disable(user=user, actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
            _count_failure(request, exc, "wrong password or code (turning off two-factor)")
        else:
            request.session.pop(VERIFIED_SESSION_KEY, None)
            messages.success(request, "Two-factor authentication is off.")
            return redirect("portal:profile")
    context = {"form": form, "requirement": required_for(user)}
    return render(request, "portal/twofactor/turn_off.html", context)
