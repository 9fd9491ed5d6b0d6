from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from keyledger.audit.actor import Actor
from keyledger.organisations.models import User
from keyledger.portal.forms.organisations import EMAIL_MAX_LENGTH
from keyledger.security import actions, throttle
from keyledger.security.forms import ThrottledSignInMixin


def password_policy() -> list[str]:
    """The rules of AUTH_PASSWORD_VALIDATORS in plain words, shown before anyone types."""
    return password_validation.password_validators_help_texts()


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    """Email and password, refused while the email or the address is locked by too many
    failures (keyledger.security.throttle); each wrong password is counted and audited."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        "invalid_login": "That email and password do not match an account with portal access.",
        "inactive": "This account has no portal access.",
    }


class _PlainForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _password_field(label: str, autocomplete: str) -> forms.CharField:
    return forms.CharField(
        label=label, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": autocomplete})
    )


class PasswordResetRequestForm(_PlainForm):
    email = forms.EmailField(
        label="Email",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class NewPasswordForm(_PlainForm):
    """A new password, typed twice, checked against the password policy for this user."""

    new_password = _password_field("New password", "new-password")
    new_password_again = _password_field("New password again", "new-password")

    def __init__(self, *args, user: User, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        new, again = data.get("new_password"), data.get("new_password_again")
        if new and again and new != again:
            self.add_error("new_password_again", "The two passwords differ.")
        elif new:
            try:
                password_validation.validate_password(new, self.user)
            except ValidationError as exc:
                self.add_error("new_password", exc)
        return data


class ChangePasswordForm(NewPasswordForm):
    """The profile's password change: the current password first. Wrong ones count towards
    the sign-in lock, so a session left open does not let anyone guess the password."""

    current_password = _password_field("Current password", "current-password")

    field_order = ["current_password", "new_password", "new_password_again"]

    def __init__(self, *args, ip: str | None = None, **kwargs) -> None:
        self.ip = ip
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        current = self.cleaned_data["current_password"]
        verdict = throttle.check(email=self.user.email, ip=self.ip)
        if not verdict.allowed:
            raise ValidationError(
                f"Too many wrong passwords. Try again in {verdict.wait_minutes} minute(s), "
                "or sign out and reset your password with “Forgot your password?”."
            )
        if not self.user.check_password(current):
            actions.record_failed_sign_in(
                email=self.user.email,
                actor=Actor(user=self.user, ip=self.ip),
                reason="wrong current password",
            )
            raise ValidationError("That is not your current password.")
        return current
