"""Key Management's first page for a distributor or vendor staff: the MSP picker, with each
MSP's accounts, keys and Critical keys (an MSP user goes straight to its own MSP)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from keyledger.access import msps_for_user, msps_with_counts_for_user, require
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission
from keyledger.portal.lists import Column, sorted_page
from keyledger.portal.views.methods import only_methods

MSPS_PER_PAGE = 25

PICKER_COLUMNS = [
    Column("name", "MSP", ("sort_name",)),
    Column("distributor", "Distributor", ("parent__sort_name", "sort_name")),
    Column("access", "Portal access"),
    Column("accounts", "Accounts", ("account_count",), numeric=True),
    Column("keys", "Keys", ("key_count",), numeric=True),
    Column("critical", "Critical keys", ("critical_count",), numeric=True),
]


@login_required
def key_management(request: HttpRequest) -> HttpResponse:
    """The MSP picker: each MSP with its accounts, keys and Critical keys, so that a
    distributor reaches every Critical key in two clicks: the Critical count of an MSP
    (its MSP page), then the Critical badge of an account or site there (its key list
    filtered to Critical). "Only MSPs with Critical keys" keeps the MSPs that need it."""
    user = request.user
    require(user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    if user.organisation.kind == Organisation.Kind.MSP:
        return redirect("portal:msp_key_management", msp_id=user.organisation.pk)
    msps = msps_with_counts_for_user(user, now=timezone.now()).select_related("parent")
    only_critical = request.GET.get("critical") == "1"
    if only_critical:
        msps = msps.filter(critical_count__gt=0)
    listing = sorted_page(
        request,
        msps,
        columns=PICKER_COLUMNS,
        default="name",
        per_page=MSPS_PER_PAGE,
        noun="MSPs",
        noun_one="MSP",
    )
    context = {
        "listing": listing,
        "query": listing.query,
        "only_critical": only_critical,
        "any_msp": listing.total or only_critical or listing.filtered or msps_for_user(user).exists(),
        "own": user.organisation,
        "may_create_msps": user.can(Permission.MANAGE_ORGANISATIONS) and user.organisation.can_create_msps,
    }
    return render(request, "portal/key_management/picker.html", context)
