"""The forms of product keys: Add Key(s) and the Account/Site of a key. Labels are the seed's
words; the fields a product's keys carry are read from its catalog row, never from its code."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from django import forms

from keyledger.customers.models import Account, Site
from keyledger.keys.models import Product

ACCOUNT_PREFIX = "account-"
SITE_PREFIX = "site-"


def placement_value(account: Account, site: Site | None = None) -> str:
    return f"{SITE_PREFIX}{site.pk}" if site is not None else f"{ACCOUNT_PREFIX}{account.pk}"


def placement_choices(tree: Sequence[Account]) -> list[tuple[str, str]]:
    """Each account of the MSP, then each of its sites: the Account/Site drop-down."""
    choices: list[tuple[str, str]] = []
    for account in tree:
        choices.append((placement_value(account), account.name))
        choices += [
            (placement_value(account, site), f"{account.name} / {site.name}") for site in account.sites.all()
        ]
    return choices


def resolve_placement(tree: Sequence[Account], value: str) -> tuple[Account, Site | None] | None:
    """The account (and site) a drop-down value names, among the tree's own: nothing else resolves."""
    for account in tree:
        if value == placement_value(account):
            return account, None
        for site in account.sites.all():
            if value == placement_value(account, site):
                return account, site
    return None


def short_name(product: Product) -> str:
    # "ShadowProtect Granular Recovery for Exchange (GRE)" is "GRE" to the seed's readers.
    match = re.search(r"\(([^()]+)\)\s*$", product.name)
    return match.group(1) if match else product.name


def job_field(code: str) -> str:
    return f"job_{code}"


def key_field(name: str) -> str:
    return f"field_{name}"


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The labels are the seed's words exactly, without a trailing colon.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AddKeysForm(_Form):
    """Add Key(s) for one product: the product chosen decides which of its own fields follow."""

    product = forms.ChoiceField(label="Product Type")
    quantity = forms.IntegerField(label="Quantity")  # bounded per product in __init__
    placement = forms.ChoiceField(label="Account/Site")
    # One per rendering of the form: the same form sent twice (a double click, a reload that
    # re-posts) sources its keys once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(
        self,
        data: Any = None,
        *,
        product: Product,
        catalog: Sequence[Product],
        tree: Sequence[Account],
        reload_url: str,
        initial: dict[str, Any] | None = None,
    ) -> None:
        initial = {
            "idempotency_key": uuid.uuid4().hex,
            "quantity": 1,
            **(initial or {}),
            "product": product.code,
        }
        super().__init__(data, initial=initial)
        self.selected_product = product
        self.tree = tree
        self.fields["product"].choices = [(p.code, p.name) for p in catalog]
        # Choosing another Product Type redraws the form with that product's own fields.
        self.fields["product"].widget.attrs.update(
            {
                "hx-get": reload_url,
                "hx-trigger": "change",
                "hx-target": "closest form",
                "hx-swap": "outerHTML",
                "hx-include": "closest form",
            }
        )
        if product.max_quantity == 1:
            # Shown, fixed at 1: a disabled field ignores whatever is posted for it.
            self.initial["quantity"] = 1
            self.fields["quantity"] = forms.IntegerField(
                label="Quantity",
                disabled=True,
                help_text=f"(Quantity doesn't apply to {short_name(product)}.)",
            )
        else:
            self.fields["quantity"] = forms.IntegerField(
                label="Quantity",
                min_value=1,
                max_value=product.max_quantity,
                help_text=f"Up to {product.max_quantity} keys.",
            )
        self.fields["placement"].choices = placement_choices(tree)
        for job in product.job_license_types:
            self.fields[job_field(job["code"])] = forms.IntegerField(
                label=job["label"],
                min_value=0,
                max_value=job["max"],
                initial=0,
                required=False,
                help_text=f"0 to {job['max']} jobs.",
            )
        for spec in product.key_fields:
            self.fields[key_field(spec["name"])] = forms.CharField(
                label=spec["label"],
                required=bool(spec.get("required")),
                max_length=spec.get("max_length", 200),
            )

    def clean_product(self) -> Product:
        # The fields below are the selected product's: a form for another product is not this one.
        if self.cleaned_data["product"] != self.selected_product.code:
            raise forms.ValidationError("Choose the Product Type again.")
        return self.selected_product

    # The action's refusals name its own arguments; these are the fields that show them.
    def error_field_map(self) -> dict[str, str]:
        product = self.selected_product
        return {
            "account": "placement",
            "site": "placement",
            **{job["code"]: job_field(job["code"]) for job in product.job_license_types},
            **{spec["name"]: key_field(spec["name"]) for spec in product.key_fields},
        }

    def key_fields(self) -> dict[str, Any]:
        """The product's own fields of the new keys, as the keys actions take them."""
        product = self.selected_product
        values: dict[str, Any] = {}
        for job in product.job_license_types:
            values[job["code"]] = self.cleaned_data.get(job_field(job["code"])) or 0
        for spec in product.key_fields:
            values[spec["name"]] = self.cleaned_data.get(key_field(spec["name"]), "")
        return values

    def account_and_site(self) -> tuple[Account, Site | None]:
        resolved = resolve_placement(self.tree, self.cleaned_data["placement"])
        if resolved is None:  # the choices are the tree's own, so a valid form always resolves
            raise ValueError("unknown placement")
        return resolved


class MoveKeyForm(_Form):
    placement = forms.ChoiceField(label="Account/Site")

    def __init__(self, data: Any = None, *, tree: Sequence[Account], initial: dict[str, Any] | None = None):
        super().__init__(data, initial=initial, prefix="move")
        self.tree = tree
        self.fields["placement"].choices = placement_choices(tree)

    def account_and_site(self) -> tuple[Account, Site | None]:
        resolved = resolve_placement(self.tree, self.cleaned_data["placement"])
        if resolved is None:
            raise ValueError("unknown placement")
        return resolved
