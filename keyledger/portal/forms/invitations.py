from django import forms

from keyledger.organisations.models import Invitation, TermsVersion
from keyledger.portal.forms.organisations import OnboardingForm


class AcceptInvitationForm(OnboardingForm):
    """What the person following an emailed link fills in; an invited MSP also completes its details."""

    company = forms.CharField(label="Company name", max_length=200)
    city = forms.CharField(label="City", max_length=100)
    state = forms.CharField(label="State", max_length=100, required=False)
    country = forms.CharField(label="Country", max_length=100)
    postal_code = forms.CharField(label="Postal code", max_length=20)
    full_name = forms.CharField(
        label="Full name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_again = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept_terms = forms.BooleanField(label="I accept the Terms of Service")

    DETAIL_FIELDS = ("company", "city", "state", "country", "postal_code")

    def __init__(self, *args, invitation: Invitation, terms: TermsVersion | None, **kwargs) -> None:
        org = invitation.organisation
        initial = {"full_name": invitation.full_name, "company": org.name}
        initial |= {f: getattr(org, f) for f in ("city", "state", "country", "postal_code")}
        super().__init__(*args, initial=initial, **kwargs)
        if invitation.purpose != Invitation.Purpose.MSP_INVITE:
            for name in self.DETAIL_FIELDS:
                del self.fields[name]
        if terms is None:
            del self.fields["accept_terms"]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return data

    def detail_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.DETAIL_FIELDS if name in self.fields]

    def login_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("full_name", "password", "password_again")]

    def details(self) -> dict[str, str] | None:
        if "company" not in self.fields:
            return None
        data = self.cleaned_data
        return {"name": data["company"]} | {f: data[f] for f in ("city", "state", "country", "postal_code")}


class AcceptTermsForm(OnboardingForm):
    terms_version = forms.IntegerField(widget=forms.HiddenInput)
    accept_terms = forms.BooleanField(label="I accept the Terms of Service")


class PublishTermsForm(OnboardingForm):
    title = forms.CharField(label="Title", max_length=200, initial="Terms of Service")
    text = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 16}))
