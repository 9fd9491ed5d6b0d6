from django import forms

from keyledger.organisations.models import Organisation

# The users' email column: Django's EmailField would take up to 320 characters.
EMAIL_MAX_LENGTH = 254


class OnboardingForm(forms.Form):
    """Labels are the seed's words as they stand: no trailing colon."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _text(label: str, *, required: bool = True, max_length: int = 100, **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=max_length, widget=forms.TextInput(attrs=attrs)
    )


class AddressForm(OnboardingForm):
    city = _text("City", autocomplete="address-level2")
    state = _text("State", required=False, autocomplete="address-level1")
    country = _text("Country", autocomplete="country-name")
    postal_code = _text("Postal code", max_length=20, autocomplete="postal-code")


class NewMspForm(AddressForm):
    name = _text("Name", max_length=200)

    field_order = ("name", "city", "state", "country", "postal_code")


class InviteMspForm(AddressForm):
    email = forms.EmailField(
        label="Email", max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    name = _text("Name", max_length=200, autocomplete="off")
    company = _text("Company", max_length=200)
    region = _text("Region", required=False)

    field_order = ("email", "name", "company", "city", "state", "country", "postal_code", "region")

    def __init__(self, *args, distributor: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].initial = distributor.region
        self.fields["region"].help_text = "MSPs are assigned to your region unless you say otherwise."
        # The MSP completes its address when it follows the link; what is known now saves it typing.
        for name in ("city", "country", "postal_code"):
            self.fields[name].required = False


class AgreementForm(OnboardingForm):
    region = _text("Region", required=False)
    may_invite_msps = forms.BooleanField(label="May invite MSPs (portal access)", required=False)
    may_provision_cloud = forms.BooleanField(label="May provision Cloud Services", required=False)
    may_create_subdistributors = forms.BooleanField(label="May create sub-distributors", required=False)


class NewDistributorForm(AgreementForm):
    name = _text("Name", max_length=200)
    is_master_msp = forms.BooleanField(
        label="Master MSP", required=False, help_text="A distributor that also serves customers as an MSP."
    )
    city = _text("City", required=False)
    state = _text("State", required=False)
    country = _text("Country", required=False)
    postal_code = _text("Postal code", required=False, max_length=20)
    admin_email = forms.EmailField(
        label="First login email",
        max_length=EMAIL_MAX_LENGTH,
        help_text="Receives the single-use link that sets the password.",
    )
    admin_name = _text("First login name", max_length=200)

    field_order = (
        "name",
        "region",
        "city",
        "state",
        "country",
        "postal_code",
        "may_invite_msps",
        "may_provision_cloud",
        "may_create_subdistributors",
        "is_master_msp",
        "admin_email",
        "admin_name",
    )
    # The agreement's checkboxes are a group of their own after the address, not mixed into it.
    FIELDSETS = (
        ("", ("name", "region", "city", "state", "country", "postal_code")),
        (
            "Agreement",
            ("may_invite_msps", "may_provision_cloud", "may_create_subdistributors", "is_master_msp"),
        ),
        ("First login", ("admin_email", "admin_name")),
    )

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """(legend, fields) in order; a sub-distributor's form lacks the flags its parent lacks."""
        return [(legend, [self[n] for n in names if n in self.fields]) for legend, names in self.FIELDSETS]

    def __init__(self, *args, parent: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if parent.kind == Organisation.Kind.DISTRIBUTOR:
            # A sub-distributor gets no more than its parent's own agreement.
            self.fields["region"].initial = parent.region
            for flag in ("may_invite_msps", "may_provision_cloud", "may_create_subdistributors"):
                if not getattr(parent, flag):
                    del self.fields[flag]


class GrantAccessForm(OnboardingForm):
    email = forms.EmailField(
        label="Email",
        max_length=EMAIL_MAX_LENGTH,
        help_text="Receives the single-use link that opens the portal.",
    )
    name = _text("Name", max_length=200)
