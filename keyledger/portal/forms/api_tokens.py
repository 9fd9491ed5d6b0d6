from datetime import UTC, date, datetime, time

from django import forms
from django.utils import timezone

from keyledger.api.models import ApiToken


def start_of(day: date) -> datetime:
    """The moment a token expiring on this day stops working: the day's first minute, UTC
    (whatever zone the user reads the portal in)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


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
    expires_on = forms.DateField(
        label="Expires on (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at the start of this day (UTC). Leave it empty for a "
        "token without an expiry date.",
    )

    def clean_expires_on(self) -> date | None:
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.now().astimezone(UTC).date():
            raise forms.ValidationError("Choose a date after today.")
        return day

    @property
    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        return start_of(day) if day else None
