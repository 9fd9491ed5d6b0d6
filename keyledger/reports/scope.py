"""Whose keys a report covers and which prices it shows: the viewer's choice of distributor
and MSP, and the price basis (keyledger.billing.pricing).

Vendor staff pick a distributor and one of its MSPs (or all); a distributor picks one of
its MSPs (or all); an MSP sees its own. The choice travels in the URL (`?distributor=`,
`?msp=`, `?prices=`), so a report can be bookmarked; every id in it is looked up through
keyledger.access, so one outside the viewer's subtree is a 404 like anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from keyledger.access import (
    get_msp_for_user,
    get_organisation_for_user,
    msps_for_user,
    organisations_for_user,
)
from keyledger.billing.engine import Scope
from keyledger.billing.pricing import BASIS_MSP, BASIS_OWN, BASIS_SALE
from keyledger.organisations.models import Organisation

Kind = Organisation.Kind


def basis_choices(viewer: Organisation) -> list[tuple[str, str]]:
    """The price bases a viewer may choose, its default first."""
    if viewer.kind == Kind.VENDOR:
        return [(BASIS_SALE, "What distributors are charged"), (BASIS_MSP, "What MSPs are charged")]
    if viewer.kind == Kind.DISTRIBUTOR:
        return [(BASIS_MSP, "What MSPs are charged"), (BASIS_OWN, "Our cost")]
    return [(BASIS_MSP, "What we are charged")]


def default_basis(viewer: Organisation) -> str:
    return basis_choices(viewer)[0][0]


@dataclass(frozen=True)
class ReportScope:
    """The keys of `msp`, or of every MSP below `distributor`, or below the viewer."""

    viewer: Organisation
    distributor: Organisation | None = None
    msp: Organisation | None = None
    basis: str = BASIS_MSP

    @property
    def root(self) -> Organisation:
        return self.msp or self.distributor or self.viewer

    def engine_scope(self, product_ids: tuple[int, ...] = ()) -> Scope:
        return Scope(
            path=self.root.path,
            msp_id=self.msp.pk if self.msp is not None else None,
            product_ids=tuple(product_ids),
        )

    @property
    def basis_label(self) -> str:
        return dict(basis_choices(self.viewer)).get(self.basis, self.basis)

    @property
    def label(self) -> str:
        """Whose keys, in words: "Acme IT", "All MSPs of Northwind Distribution"."""
        if self.msp is not None:
            return self.msp.name
        if self.distributor is not None:
            return f"All MSPs of {self.distributor.name}"
        if self.viewer.kind == Kind.MSP:
            return self.viewer.name
        return "All MSPs"

    def query(self) -> dict[str, Any]:
        """The URL parameters that give this scope back (defaults left out)."""
        params: dict[str, Any] = {}
        if self.distributor is not None and self.viewer.kind == Kind.VENDOR:
            params["distributor"] = self.distributor.pk
        if self.msp is not None and self.viewer.kind != Kind.MSP:
            params["msp"] = self.msp.pk
        if self.basis != default_basis(self.viewer):
            params["prices"] = self.basis
        return params


def _as_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    # Anything but plain digits names nothing (the door answers 404 for it).
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else -1


def resolve(user: Any, *, distributor: Any = None, msp: Any = None, prices: Any = None) -> ReportScope:
    """The scope a user asks for. Http404 for an organisation outside the user's subtree (or
    no such id); ValidationError({"prices": …}) for a price basis the viewer cannot choose.

    An MSP outside the chosen distributor leaves the distributor's choice standing (the
    picker sends both when only the distributor was changed); an MSP alone brings its
    distributor along."""
    viewer: Organisation = user.organisation
    basis = str(prices or "").strip() or default_basis(viewer)
    if basis not in dict(basis_choices(viewer)):
        choices = ", ".join(code for code, _ in basis_choices(viewer))
        raise ValidationError({"prices": f"Choose the prices to show: {choices}."})
    chosen_distributor = None
    chosen_msp = None
    distributor_id = _as_id(distributor)
    if distributor_id is not None:
        chosen_distributor = get_organisation_for_user(user, distributor_id, kind=Kind.DISTRIBUTOR)
        if chosen_distributor.pk == viewer.pk:
            chosen_distributor = None
    msp_id = _as_id(msp)
    if msp_id is not None:
        chosen_msp = get_msp_for_user(user, msp_id)
    if viewer.kind == Kind.MSP:
        # An MSP sees its own keys (the door let through only its own id).
        return ReportScope(viewer=viewer, basis=basis)
    if chosen_msp is not None:
        if chosen_distributor is None and viewer.kind == Kind.VENDOR and chosen_msp.parent_id != viewer.pk:
            chosen_distributor = chosen_msp.parent
        elif chosen_distributor is not None and not chosen_msp.is_within(chosen_distributor):
            chosen_msp = None
    return ReportScope(viewer=viewer, distributor=chosen_distributor, msp=chosen_msp, basis=basis)


def distributor_choices(user: Any) -> list[Organisation]:
    """The distributors vendor staff pick from (others pick none)."""
    if user.organisation.kind != Kind.VENDOR:
        return []
    return list(organisations_for_user(user).filter(kind=Kind.DISTRIBUTOR).order_by("name", "pk"))


def msp_choices(user: Any, scope: ReportScope) -> list[Organisation]:
    """The MSPs the picker offers: a distributor's own, or those of the distributor vendor
    staff chose (none before they choose one: a vendor may have thousands)."""
    viewer = user.organisation
    if viewer.kind == Kind.MSP:
        return []
    if viewer.kind == Kind.VENDOR and scope.distributor is None:
        return []
    below = scope.distributor or viewer
    return list(msps_for_user(user).filter(path__startswith=below.path).order_by("name", "pk"))
