"""The top bar's search: one box for Product Keys, machine names, Accounts, Sites and MSPs.

Exactly one match opens it (a key's Activation Details, an account's or site's page, an
MSP's Key Management); anything else lists the matches by kind. A plain GET form: it works
without JavaScript, and a search is a link that can be shared or reloaded.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from keyledger.access import require
from keyledger.access.search import (
    ACCOUNTS,
    DISTRIBUTORS,
    KEYS,
    KINDS,
    MAX_LENGTH,
    MSPS,
    SITES,
    SearchError,
    parse,
    search_for_user,
)
from keyledger.organisations.roles import Permission
from keyledger.portal.views.key_status import STATUS_BADGES
from keyledger.portal.views.methods import only_methods

# One kind asked for on its own ("more…") lists this many.
KIND_LIMIT = 100

# Where a match of each kind opens: (URL name, its argument).
DESTINATIONS: dict[str, tuple[str, str]] = {
    KEYS: ("portal:key_detail", "key_id"),
    ACCOUNTS: ("portal:account_detail", "account_id"),
    SITES: ("portal:site_detail", "site_id"),
    MSPS: ("portal:msp_key_management", "msp_id"),
    DISTRIBUTORS: ("portal:organisation", "organisation_id"),
}


@login_required
def search(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    raw = request.GET.get("q")
    if raw is None:
        return render(request, "portal/search/results.html", {"search_q": ""})
    try:
        query = parse(raw)
    except SearchError as error:
        shown = "".join(c for c in raw[:MAX_LENGTH] if c.isprintable())
        return render(request, "portal/search/results.html", {"search_q": shown, "error": str(error)})
    kind = request.GET.get("kind")
    if kind in KINDS:
        results = search_for_user(request.user, query, kinds=[kind], limit=KIND_LIMIT)
    else:
        kind = None
        results = search_for_user(request.user, query)
        if (only := results.only_match()) is not None:
            return redirect(_url(*only))
    context: dict[str, Any] = {
        "search_q": query.text,
        "query": query,
        "kind": kind,
        "results": results,
        "more": any(g.more for g in results.groups.values()),
        "key_rows": _key_rows(results.groups.get(KEYS)),
    }
    return render(request, "portal/search/results.html", context)


def _url(kind: str, obj: Any) -> str:
    name, argument = DESTINATIONS[kind]
    return reverse(name, kwargs={argument: obj.pk})


def _key_rows(group: Any) -> list[dict[str, Any]]:
    """Each key found with its status as of now (not waiting for the sweeper)."""
    if group is None:
        return []
    now = timezone.now()
    return [{"key": key, "badge": STATUS_BADGES[key.state_at(now)]} for key in group.items]
