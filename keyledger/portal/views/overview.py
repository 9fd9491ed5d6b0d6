"""The Overview tab: an organisation's home page, for its whole subtree (the vendor: every
key; a distributor: its MSPs' keys; an MSP: its own). The numbers come from
keyledger.reports.overview and keyledger.reports.overview_charts; this module only checks
access, asks and renders. A fixed number of queries, whatever the number of keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from keyledger.access import keys_for_user, require
from keyledger.billing import engine, money
from keyledger.billing.pricing import BASIS_MSP, BASIS_OWN, BASIS_SALE
from keyledger.keys.models import ProductKey
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission
from keyledger.portal.views.key_status import STATUS_BADGES, StatusBadge
from keyledger.portal.views.methods import only_methods
from keyledger.reports import overview, overview_charts, overview_month, overview_svg

State = ProductKey.State
CRITICAL_SHOWN = 10
SOON_SHOWN = 10
KEYS_PER_PAGE = 25
BILLABLE_SOON = "billable-soon"

# The statuses as the overview's tiles name them (the key lists' longer labels otherwise).
TILE_LABELS = {
    State.OK: "OK",
    State.CRITICAL: "Critical",
    State.DEACTIVATION_REQUESTED: "Deactivation requested",
    State.REACTIVATION_REQUESTED: "Reactivation requested",
    State.UNUSED: "Not activated",
    State.DEACTIVATED: "Deactivated",
}
LIST_TITLES = {
    State.OK: "OK keys",
    State.CRITICAL: "Critical keys",
    State.DEACTIVATION_REQUESTED: "Keys with a deactivation requested",
    State.REACTIVATION_REQUESTED: "Keys with a reactivation requested",
    State.UNUSED: "Keys not activated",
    State.DEACTIVATED: "Deactivated keys",
}


def basis_label(basis: str, organisation: Organisation) -> str:
    if basis == BASIS_SALE:
        return "Charged to your distributors"
    if basis == BASIS_OWN:
        return "Your cost"
    if basis == BASIS_MSP and organisation.kind != Organisation.Kind.MSP:
        return "Charged to your MSPs"
    return "What you pay"


@dataclass(frozen=True)
class Tile:
    status: str
    label: str
    count: int
    badge: StatusBadge
    url: str


@dataclass(frozen=True)
class Priced:
    label: str
    amounts: list[tuple[str, int]]  # ("6,500.00 EUR", keys)
    unpriced: int


def _keys_url(status: str) -> str:
    return f"{reverse('portal:overview_keys')}?status={status}"


@login_required
def overview_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    now = timezone.now()
    organisation = user.organisation
    keys = keys_for_user(user)
    counts = overview.status_counts(keys, now=now)
    tiles = [
        Tile(status=s, label=TILE_LABELS[s], count=counts[s], badge=STATUS_BADGES[s], url=_keys_url(s))
        for s in overview.STATUSES
    ]
    context: dict = {
        "organisation": organisation,
        "is_msp": organisation.kind == Organisation.Kind.MSP,
        "tiles": tiles,
        "critical": list(overview.keys_in_status(keys, State.CRITICAL, now=now)[:CRITICAL_SHOWN]),
        "critical_count": counts[State.CRITICAL],
        "critical_url": _keys_url(State.CRITICAL),
        "soon_days": overview_month.SOON_DAYS,
        "soon_url": _keys_url(BILLABLE_SOON),
        "threshold": engine.threshold(),
    }
    # Billing numbers for those who may see reports (every role that sees keys, today).
    bases = overview_month.bases_for(organisation) if user.can(Permission.VIEW_REPORTS) else ()
    running = overview_month.running_month(organisation, now=now, bases=bases, limit=SOON_SHOWN)
    context.update(
        month=running.month,
        soon=running.soon,
        soon_count=running.soon_count,
        billable=running.provisional[0].billable if running.provisional else None,
        priced=[
            Priced(
                label=basis_label(p.basis, organisation),
                amounts=[(money.format_display(t.minor, t.currency), t.keys) for t in p.totals],
                unpriced=p.unpriced,
            )
            for p in running.provisional
        ],
    )
    return render(request, "portal/overview/page.html", context)


@login_required
def overview_charts_view(request: HttpRequest) -> HttpResponse:
    """The two charts with their numbers. The overview loads them after the page (they read
    a year of billing, the slowest part of it), and they are a page of their own without
    JavaScript."""
    user = request.user
    require(user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    now = timezone.now()
    scope = overview.scope_for(user.organisation)
    products = overview_charts.catalog_names()
    daily = overview_charts.active_per_day(scope, now=now, products=products)
    monthly = overview_charts.billable_per_month(scope, now=now, products=products)
    context = {
        "organisation": user.organisation,
        "daily": daily,
        "daily_drawing": overview_svg.line_chart(daily),
        "monthly": monthly,
        "monthly_drawing": overview_svg.bar_chart(monthly, prefix="billable-pattern"),
    }
    # A history restore asks for the whole page, though it comes from htmx.
    fragment = (
        request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers
    )
    return render(
        request, "portal/overview/_charts.html" if fragment else "portal/overview/charts.html", context
    )


@dataclass(frozen=True)
class KeyRow:
    key: ProductKey
    badge: StatusBadge


@login_required
def overview_keys(request: HttpRequest) -> HttpResponse:
    """Where an overview number leads: the subtree's keys in one status now, or turning
    billable within the week, paginated."""
    user = request.user
    require(user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    now = timezone.now()
    status = request.GET.get("status", "")
    context: dict = {
        "status": status,
        "is_msp": user.organisation.kind == Organisation.Kind.MSP,
        "rows": None,
    }
    if status == BILLABLE_SOON:
        rows = overview_month.TurningBillable(user.organisation, now=now)
        context["title"] = f"Turning billable in the next {overview_month.SOON_DAYS} days"
        context["page"] = Paginator(rows, KEYS_PER_PAGE).get_page(request.GET.get("page"))
        return render(request, "portal/overview/keys.html", context)
    if status not in overview.STATUSES:
        raise Http404("No such status.")
    keys = overview.keys_in_status(keys_for_user(user), status, now=now)
    page = Paginator(keys, KEYS_PER_PAGE).get_page(request.GET.get("page"))
    context["title"] = LIST_TITLES[status]
    context["page"] = page
    context["rows"] = [KeyRow(key=k, badge=STATUS_BADGES[k.state_at(now)]) for k in page]
    return render(request, "portal/overview/keys.html", context)
