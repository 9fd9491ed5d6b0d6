"""The Statements list's filters: month, status, and who issued them. A GET form: the
filters stay in the URL. A value that is not offered is a field error, and the list shows
everything."""

from __future__ import annotations

from django import forms

from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements.queries import DIRECTIONS, ISSUED, RECEIVED
from keyledger.organisations.models import Organisation
from keyledger.portal.forms.organisations import OnboardingForm


class StatementFilterForm(OnboardingForm):
    month = forms.ChoiceField(label="Month", required=False)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "All"), *Statement.Status.choices]
    )
    direction = forms.ChoiceField(label="Issued", required=False)

    def __init__(self, *args, months: list[Month], viewer: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [("", "All months"), *((str(m), m.label) for m in months)]
        directions = [("", "By and to you")]
        if viewer.kind != Organisation.Kind.MSP:
            directions.append((ISSUED, DIRECTIONS[ISSUED]))
        if viewer.parent_id is not None:
            directions.append((RECEIVED, DIRECTIONS[RECEIVED]))
        self.fields["direction"].choices = directions

    def clean_month(self) -> Month | None:
        value = self.cleaned_data.get("month")
        return Month.parse(value) if value else None
