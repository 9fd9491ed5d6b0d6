"""The forms of the Price lists pages: a new list (its customer and currency), a price, and
the month a list is shown for."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.core.exceptions import ValidationError

from keyledger.billing import money
from keyledger.billing.months import Month
from keyledger.billing.price_lists import items_of
from keyledger.keys.models import Product
from keyledger.organisations.models import Organisation


class MonthInput(forms.TextInput):
    # Browsers without a month picker show a text field; YYYY-MM is what both send.
    input_type = "month"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__({"placeholder": "YYYY-MM", "pattern": r"\d{4}-\d{2}", **(attrs or {})})


def _month(value: str) -> Month:
    try:
        return Month.parse(value)
    except ValueError:
        raise ValidationError("Enter a month as YYYY-MM, e.g. 2026-11.") from None


class _Form(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class NewPriceListForm(_Form):
    # Not a ModelChoiceField: a customer that already has a list, or is not directly below,
    # gets the action's own words rather than "Select a valid choice".
    customer = forms.IntegerField(label="Customer", widget=forms.Select)
    currency = forms.CharField(
        label="Currency",
        widget=forms.TextInput(attrs={"list": "currencies", "autocomplete": "off", "class": "currency-code"}),
        help_text="An ISO 4217 code, e.g. EUR, USD or AUD. Every price of the list is in it; it cannot change later.",
        error_messages={"required": "Enter an ISO 4217 currency code, e.g. EUR, USD or AUD."},
    )

    def __init__(self, *args, customers: Sequence[Organisation], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].widget.choices = [(c.pk, c.name) for c in customers]
        self.fields["customer"].error_messages["required"] = "Choose the customer the list prices."


# The item of a product priced per key is "", which a select cannot tell from no choice.
PER_KEY_VALUE = "*"


class AddPriceForm(_Form):
    product = forms.CharField(
        label="Product", widget=forms.Select, error_messages={"required": "Choose a product."}
    )
    # Not required: a product priced per key has the one item "".
    item = forms.CharField(label="Item", required=False, widget=forms.Select)
    month = forms.CharField(
        label="From month",
        widget=MonthInput,
        help_text="The price applies from the first day of this month until a later price of the same item.",
        error_messages={"required": "Enter a month as YYYY-MM, e.g. 2026-11."},
    )
    price = forms.CharField(
        label="Price",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "price-input"}),
        error_messages={"required": "Enter a price as a number, e.g. 12.50."},
    )

    def __init__(
        self,
        *args,
        currency: str,
        products: Sequence[Product],
        items_url: str,
        narrow_to: Product | None = None,
        **kwargs,
    ) -> None:
        """`narrow_to`: offer only that product's items (the item field redrawn when the
        product changes); otherwise every product's items, grouped, so the form works
        without JavaScript. `items_url` answers GET ?product= with the item field redrawn."""
        super().__init__(*args, **kwargs)
        self.currency = currency
        product = self.fields["product"].widget
        product.choices = [("", "Choose a product"), *((p.code, p.name) for p in products)]
        product.attrs.update(
            {
                "hx-get": items_url,
                "hx-trigger": "change",
                "hx-target": "#item-field",
                "hx-select": "#item-field",
                "hx-swap": "outerHTML",
            }
        )
        if narrow_to is not None:
            choices = [(i.code or PER_KEY_VALUE, i.label) for i in items_of(narrow_to)]
        else:
            choices = [
                ("", "Choose an item"),
                *((p.name, [(i.code or PER_KEY_VALUE, i.label) for i in items_of(p)]) for p in products),
            ]
        self.fields["item"].widget.choices = choices
        digits = money.minor_digits(currency)
        decimals = "no decimals" if digits == 0 else f"at most {digits} decimal{'s' if digits > 1 else ''}"
        self.fields["price"].help_text = f"In {money.currency_name(currency)} ({currency}), {decimals}."

    def clean_item(self) -> str:
        item = self.cleaned_data["item"]
        return "" if item == PER_KEY_VALUE else item

    def clean_month(self) -> Month:
        return _month(self.cleaned_data["month"])

    def clean_price(self) -> str:
        # Checked here too, so a bad price is named beside the other fields' errors; the
        # action checks it again.
        price = self.cleaned_data["price"]
        try:
            money.parse_price(price, self.currency)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["price"]) from None
        return price


class MonthForm(_Form):
    month = forms.CharField(label="Month", required=False, widget=MonthInput)

    def __init__(self, *args, **kwargs) -> None:
        # Beside the Add price form on the same page: its ids must differ.
        kwargs.setdefault("auto_id", "view_%s")
        super().__init__(*args, **kwargs)

    def clean_month(self) -> Month | None:
        value = self.cleaned_data["month"]
        return _month(value) if value else None
