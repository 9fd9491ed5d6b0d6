"""The audit log of the user's subtree: who changed what, when, from where."""

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from keyledger.access import audit_for_user, require
from keyledger.audit.naming import actor_name, is_from_above
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.audit import AuditFilterForm

PAGE_SIZE = 50


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.VIEW_AUDIT)
    entries = audit_for_user(request.user)
    known = list(entries.order_by("action").values_list("action", flat=True).distinct())
    form = AuditFilterForm(request.GET or None, actions=known)
    if form.is_valid() and form.cleaned_data["action"]:
        entries = entries.filter(action=form.cleaned_data["action"])
    entries = entries.select_related("organisation", "actor_user__organisation").order_by("-at", "-id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    viewer = request.user.organisation
    for entry in page:
        entry.changes_text = json.dumps(entry.changes, sort_keys=True, default=str) if entry.changes else ""
        # Someone from above is named by organisation only, and where they came from is not shown.
        entry.actor_shown = actor_name(actor_user=entry.actor_user, label=entry.actor_label, viewer=viewer)
        entry.ip_shown = None if is_from_above(entry.actor_user, viewer) else entry.ip_address
    return render(request, "portal/audit/log.html", {"page": page, "form": form})
