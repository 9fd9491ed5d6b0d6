"""The audit log of the user's subtree: who changed what, when, from where."""

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from keyledger.access import audit_for_user, require
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
    page = Paginator(entries.select_related("organisation").order_by("-at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for entry in page:
        entry.changes_text = json.dumps(entry.changes, sort_keys=True, default=str) if entry.changes else ""
    return render(request, "portal/audit/log.html", {"page": page, "form": form})
