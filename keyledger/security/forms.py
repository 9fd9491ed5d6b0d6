"""The throttled check of an email and password, shared by the portal's sign-in form and
the Django admin's: every door that tests a password counts the wrong ones."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError

from keyledger.audit.actor import Actor
from keyledger.security import actions, throttle


def locked_message(verdict: throttle.Verdict) -> str:
    # The same words whether or not the email has an account: a lock tells nothing about that.
    minutes = verdict.wait_minutes
    what = "for this email" if verdict.account_locked else "from your network"
    return (
        f"Too many failed sign-ins {what}. Signing in is paused for "
        f"{minutes} minute{'s' if minutes != 1 else ''}; try again after that, "
        "or reset your password with “Forgot your password?”."
    )


class ThrottledSignInMixin:
    """For a django.contrib.auth AuthenticationForm: refuse while locked, count failures."""

    request = None
    cleaned_data: dict
    user_cache = None

    def clean(self) -> dict:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            actor = Actor.from_request(self.request)
            verdict = throttle.check(email=email, ip=actor.ip)
            if not verdict.allowed:
                raise ValidationError(locked_message(verdict), code="locked")
            self.user_cache = authenticate(self.request, username=email, password=password)
            if self.user_cache is None:
                verdict = actions.record_failed_sign_in(email=email, actor=actor)
                if not verdict.allowed:
                    raise ValidationError(locked_message(verdict), code="locked")
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))
