from django import forms

from keyledger.api.models import ApiToken


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What the token is for, e.g. “Billing export” or “PSA integration”.",
    )
    scope = forms.ChoiceField(
        label="Scope",
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ_ONLY,
        widget=forms.RadioSelect,
        help_text="A read-only token can look everything up but change nothing.",
    )
