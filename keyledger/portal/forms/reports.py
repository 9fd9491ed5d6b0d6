"""The Reports panel's forms: whose keys (distributor, MSP), which prices, and each report's
own options (Start Date, End Date and products to include; a month). They are GET forms:
everything chosen stays in the URL, so a report can be bookmarked and shared.

The scope fields show what keyledger.reports.scope.resolve made of the URL (an id outside
the viewer's subtree never gets this far: it is a 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from keyledger.billing.months import Month
from keyledger.keys.models import Product
from keyledger.organisations.models import Organisation
from keyledger.portal.forms.widgets import LongSelect
from keyledger.reports import activation, billing_detail, inputs, soon
from keyledger.reports.scope import ReportScope, basis_choices
from keyledger.reports.sorting import Column, SortError, parse_sort


def scope_data(data: QueryDict, scope: ReportScope) -> QueryDict:
    """The URL's values with the scope as resolved (an MSP that gave way to the distributor
    chosen after it shows as All MSPs)."""
    data = data.copy()
    data["distributor"] = str(scope.distributor.pk) if scope.distributor else ""
    data["msp"] = str(scope.msp.pk) if scope.msp else ""
    data["prices"] = scope.basis
    return data


class ReportForm(forms.Form):
    distributor = forms.ChoiceField(label="Distributor", required=False, widget=LongSelect)
    msp = forms.ChoiceField(label="MSP", required=False, widget=LongSelect)
    prices = forms.ChoiceField(label="Prices", required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)

    columns: Sequence[Column] = ()
    default_sort = ""
    shows_prices = False

    def __init__(
        self,
        data: Any = None,
        *,
        scope: ReportScope,
        distributors: Sequence[Organisation],
        msps: Sequence[Organisation],
        picker_url: str = "",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(data, **kwargs)
        self.scope = scope
        viewer = scope.viewer
        if viewer.kind == Organisation.Kind.VENDOR:
            self.fields["distributor"].choices = [("", "All distributors")] + [
                (str(d.pk), d.name) for d in distributors
            ]
            self.fields["distributor"].initial = str(scope.distributor.pk) if scope.distributor else ""
            if picker_url:
                # With htmx, choosing a distributor redraws the MSP list with its MSPs.
                self.fields["distributor"].widget.attrs.update(
                    {
                        "hx-get": picker_url,
                        "hx-include": "closest form",
                        "hx-vals": '{"picker": "1"}',
                        "hx-select": "#field-msp",
                        "hx-target": "#field-msp",
                        "hx-swap": "outerHTML",
                    }
                )
        else:
            del self.fields["distributor"]
        if viewer.kind == Organisation.Kind.MSP:
            del self.fields["msp"]
        else:
            everyone = (
                "All MSPs" if msps or scope.distributor else "All MSPs (choose a distributor to pick one)"
            )
            self.fields["msp"].choices = [("", everyone)] + [(str(m.pk), m.name) for m in msps]
            self.fields["msp"].initial = str(scope.msp.pk) if scope.msp else ""
        bases = basis_choices(viewer)
        if not self.shows_prices or len(bases) < 2:
            del self.fields["prices"]
        else:
            self.fields["prices"].choices = bases
            self.fields["prices"].initial = scope.basis

    def clean_sort(self) -> str:
        try:
            return parse_sort(self.cleaned_data.get("sort"), self.columns, self.default_sort).param
        except SortError as exc:
            raise forms.ValidationError(str(exc)) from None

    @property
    def scope_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("distributor", "msp", "prices") if name in self.fields]

    @property
    def option_fields(self) -> list[forms.BoundField]:
        skip = {"distributor", "msp", "prices", "sort"}
        return [self[name] for name in self.fields if name not in skip]


def _field_error(exc: ValidationError) -> forms.ValidationError:
    return forms.ValidationError([m for messages in exc.message_dict.values() for m in messages])


class ActivationForm(ReportForm):
    start = forms.DateField(label="Start Date", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="End Date", widget=forms.DateInput(attrs={"type": "date"}))
    product = forms.MultipleChoiceField(
        label="Products to include", required=False, widget=forms.CheckboxSelectMultiple
    )

    columns = activation.COLUMNS
    default_sort = activation.DEFAULT_SORT

    def __init__(self, *args: Any, catalog: Sequence[Product], on_screen: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = list(catalog)
        # On screen a year at most; the CSV file may span more.
        self.on_screen = on_screen
        self.fields["product"].choices = [(p.code, p.name) for p in self.catalog]
        self.fields["product"].help_text = "None ticked: all products."

    def clean_start(self) -> date:
        return self._year(self.cleaned_data["start"], "start")

    def clean_end(self) -> date:
        return self._year(self.cleaned_data["end"], "end")

    def _year(self, value: date, field: str) -> date:
        try:
            return inputs.check_year(value, field)
        except ValidationError as exc:
            raise _field_error(exc) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            try:
                inputs.check_days(start, end, at_most_a_year=self.on_screen)
            except ValidationError as exc:
                self.add_error(None, exc)
        return data

    def product_ids(self) -> tuple[int, ...]:
        chosen = set(self.cleaned_data.get("product") or ())
        return tuple(p.pk for p in self.catalog if p.code in chosen)


class BillingForm(ReportForm):
    month = forms.CharField(
        label="Month",
        max_length=32,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    shows_prices = True
    columns = billing_detail.COLUMNS
    default_sort = billing_detail.DEFAULT_SORT

    def __init__(self, *args: Any, running: Month, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.running = running

    def clean_month(self) -> Month:
        try:
            return inputs.parse_month(self.cleaned_data.get("month", ""), running=self.running)
        except ValidationError as exc:
            raise _field_error(exc) from None


class SoonForm(ReportForm):
    columns = soon.COLUMNS
    default_sort = soon.DEFAULT_SORT
