"""The forms of the Key Management page. Labels are the seed's words."""

from django import forms
from django.db.models import QuerySet

from keyledger.customers.actions import NAME_MAX_LENGTH
from keyledger.customers.models import Account


class _DetailForm(forms.Form):
    address = forms.CharField(label="Address", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs) -> None:
        # The labels are the seed's words exactly, without a trailing colon.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AccountForm(_DetailForm):
    name = forms.CharField(label="Account Name", max_length=NAME_MAX_LENGTH)

    field_order = ["name", "address", "notes"]


class SiteForm(_DetailForm):
    name = forms.CharField(label="Site Name", max_length=NAME_MAX_LENGTH)
    account = forms.ModelChoiceField(label="Account", queryset=Account.objects.none(), empty_label=None)

    field_order = ["name", "account", "address", "notes"]

    def __init__(self, *args, accounts: QuerySet[Account], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the MSP's own accounts are offered, and only they validate: a site never leaves its MSP.
        self.fields["account"].queryset = accounts


class TreeFilterForm(forms.Form):
    # Through a form: a value it refuses (NUL, overlong) filters nothing rather than failing.
    accounts = forms.CharField(label="Filter accounts", required=False, max_length=200)
