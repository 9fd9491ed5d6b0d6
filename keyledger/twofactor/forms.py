from __future__ import annotations

from datetime import UTC

from django import forms
from django.utils import timezone

from keyledger.twofactor.models import Scope


def _code_field(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=32,
        help_text=help_text,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
    )


class SignInCodeForm(forms.Form):
    code = _code_field(
        "Code", "The 6-digit code your authenticator app shows, or one of your recovery codes."
    )


class ConfirmCodeForm(forms.Form):
    code = _code_field("Code from your app", "The 6-digit code your authenticator app shows now.")


class DisableForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code from your app, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off"}),
    )


class RequirementForm(forms.Form):
    scope = forms.ChoiceField(choices=Scope.choices, widget=forms.HiddenInput)
    applies_from = forms.DateField(
        label="Required from",
        help_text="Until this day, the users it reaches see a notice naming the day; from it on, "
        "they must set it up when they sign in.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, scopes: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [(s, Scope(s).label) for s in scopes]
        self.fields["applies_from"].initial = timezone.localdate(timezone=UTC)  # a UTC day, as enforced


class RemoveRequirementForm(forms.Form):
    scope = forms.ChoiceField(choices=Scope.choices, widget=forms.HiddenInput)
