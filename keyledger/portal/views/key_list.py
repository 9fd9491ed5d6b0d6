"""The key list of an account (all its sites) or a site: the product tabs with their counts,
the status filter, sortable headings, pages, checkboxes for bulk work (views/bulk_keys.py)
and the list as CSV.

What the list shows is in the URL (`?product=spmsp&status=critical&sort=-last_call_home&page=2`):
a reload, a link, the tabs, the filter, the headings and the pages all keep it, with htmx
(which swaps the panel and pushes the Key Management URL) and without.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from keyledger.access import get_account_for_user, get_site_for_user, keys_for_user, products, require
from keyledger.customers.models import Account, Site
from keyledger.keys import listing, statuses
from keyledger.keys.models import Product, ProductKey
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.keys import placement_value, short_name
from keyledger.portal.views.key_status import STATUS_BADGES, StatusBadge
from keyledger.portal.views.keys import _add_form, _detail_url, _is_htmx, _pick_product
from keyledger.portal.views.methods import only_methods
from keyledger.reports import csv
from keyledger.reports.forecast import forecast_cell, forecasts

KEYS_PER_PAGE = 25


@dataclass(frozen=True)
class ListQuery:
    """What the list shows, as the URL says it."""

    product: str
    status: str
    sort: listing.Sort
    page: str = ""

    @classmethod
    def parse(cls, data: QueryDict, *, product: Product, site: Site | None) -> ListQuery:
        return cls(
            product=product.code,
            status=listing.parse_status(data.get("status")),
            sort=listing.Sort.parse(data.get("sort"), site_list=site is not None),
            page=data.get("page", ""),
        )

    def query(self, **changes: Any) -> str:
        """The query string of this list with `changes`; a new filter or sort starts at page 1."""
        values = {"product": self.product, "status": self.status, "sort": self.sort.param, **changes}
        if values["sort"] == listing.DEFAULT_SORT:
            values["sort"] = ""
        values = {k: v for k, v in values.items() if v not in (None, "") and (k, str(v)) != ("page", "1")}
        return "?" + urlencode(values) if values else ""


# A tab label longer than this shows the product's short name (GRE), so that the tabs fit one
# line of the panel at 1366 px; the full label stays the tab's accessible name and tooltip.
LONG_TAB_LABEL = 30


def _short_tab_label(product: Product) -> str:
    if len(product.tab_label) <= LONG_TAB_LABEL:
        return ""
    short = short_name(product)
    return short if short != product.name else ""


@dataclass(frozen=True)
class KeyRow:
    key: ProductKey
    badge: StatusBadge
    edition: str
    # This month's active days and the day the key becomes billable (reports.forecast).
    forecast: str = ""


def scoped_keys(request: HttpRequest, *, account: Account, site: Site | None) -> QuerySet[ProductKey]:
    """The keys of the account (all its sites) or the site, that the user may see."""
    keys = keys_for_user(request.user).filter(account=account)
    return keys.filter(site=site) if site is not None else keys


def panel_urls(account: Account, site: Site | None) -> dict[str, str]:
    if site is not None:
        kwargs, prefix = {"site_id": site.pk}, "portal:site_keys"
    else:
        kwargs, prefix = {"account_id": account.pk}, "portal:account_keys"
    return {
        "panel_url": reverse(prefix, kwargs=kwargs),
        "bulk_url": reverse(f"{prefix}_bulk", kwargs=kwargs),
        "csv_url": reverse(f"{prefix}_csv", kwargs=kwargs),
        "detail_url": _detail_url(account, site),
    }


def list_context(
    request: HttpRequest,
    *,
    account: Account,
    site: Site | None,
    catalog: list[Product],
    product: Product,
    query: ListQuery,
    now: datetime,
) -> dict[str, Any]:
    """Everything the product tabs and the key list show: a fixed number of queries."""
    user = request.user
    urls = panel_urls(account, site)
    panel, detail = urls["panel_url"], urls["detail_url"]
    keys = scoped_keys(request, account=account, site=site)
    tab_counts = listing.tab_counts(keys, now=now)
    of_product = keys.filter(product=product)
    counts = listing.filter_counts(of_product, now=now)
    shown = listing.listed(of_product, status=query.status, sort=query.sort, now=now)
    paginator = Paginator(shown.select_related("site"), KEYS_PER_PAGE)
    paginator.count = counts[query.status]  # known already: no COUNT query of its own
    page = paginator.get_page(query.page)
    month = forecasts(page.object_list, path=user.organisation.path, now=now)

    def link(**changes: Any) -> dict[str, str]:
        q = query.query(**changes)
        return {"url": panel + q, "push": detail + q}

    columns = [c for c in listing.SORT_COLUMNS.values() if site is None or c.site_list]
    return {
        **urls,
        "msp": account.msp,
        "account": account,
        "site": site,
        "products": catalog,
        "product": product,
        "query": query,
        "tabs": [
            {
                "product": p,
                "short": _short_tab_label(p),
                "count": tab_counts.get(p.pk, listing.TabCount()),
                **link(product=p.code, page=None),
            }
            for p in catalog
        ],
        "filters": [
            {"value": "", "label": "All", "count": counts[""], **link(status="", page=None)},
            *[
                {"value": name, "label": label, "count": counts[name], **link(status=name, page=None)}
                for name, (label, _) in statuses.FILTERS.items()
            ],
        ],
        "status_label": statuses.FILTERS[query.status][0] if query.status else "",
        "headings": [
            {
                "column": c,
                "aria": query.sort.aria(c.key),
                **link(sort=query.sort.toggled_for(c.key), page=None),
            }
            for c in columns
        ],
        "page": page,
        "page_link": link(page=page.number),
        "previous": link(page=page.previous_page_number()) if page.has_previous() else None,
        "next": link(page=page.next_page_number()) if page.has_next() else None,
        "csv_link": urls["csv_url"] + query.query(page=None),
        "rows": [
            KeyRow(
                key=key,
                badge=STATUS_BADGES[key.state_at(now)],
                edition=product.edition_label(key.edition) if key.edition else "",
                forecast=forecast_cell(month.get(key.pk)),
            )
            for key in page
        ],
        "total": counts[""],
        "matching": counts[query.status],
        "can_change": user.can(Permission.CHANGE_KEYS),
    }


def render_panel(
    request: HttpRequest,
    *,
    account: Account,
    site: Site | None,
    data: QueryDict,
    notice: str = "",
    notice_level: str = "info",
) -> HttpResponse:
    catalog = list(products())
    product = _pick_product(catalog, data.get("product"))
    context: dict[str, Any] = {
        **panel_urls(account, site),
        "msp": account.msp,
        "account": account,
        "site": site,
        "products": catalog,
        "product": product,
        "notice": notice,
        "notice_level": notice_level,
    }
    if product is not None:
        query = ListQuery.parse(data, product=product, site=site)
        now = timezone.now()
        context.update(
            list_context(
                request, account=account, site=site, catalog=catalog, product=product, query=query, now=now
            )
        )
        if context["can_change"]:
            placement = placement_value(account, site)
            context["add_form"], context["add_url"] = _add_form(
                request, account.msp, product=product, catalog=catalog, placement=placement
            )
            add_page = reverse("portal:add_keys", kwargs={"msp_id": account.msp_id})
            context["add_page_url"] = (
                f"{add_page}?{urlencode({'product': product.code, 'placement': placement})}"
            )
    template = "portal/keys/_panel.html" if _is_htmx(request) else "portal/keys/panel_page.html"
    return render(request, template, context)


def _panel(request: HttpRequest, *, account: Account, site: Site | None) -> HttpResponse:
    require(request.user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    return render_panel(request, account=account, site=site, data=request.GET)


@login_required
def account_keys(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_account_for_user(request.user, account_id)
    return _panel(request, account=account, site=None)


@login_required
def site_keys(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_site_for_user(request.user, site_id)
    return _panel(request, account=site.account, site=site)


# --- Download as CSV --------------------------------------------------------------------


def _csv(request: HttpRequest, *, account: Account, site: Site | None) -> HttpResponse:
    """The list as filtered and sorted, every page of it."""
    require(request.user, Permission.VIEW_KEYS)
    if not_allowed := only_methods(request, "GET"):
        return not_allowed
    product = _pick_product(list(products()), request.GET.get("product"))
    if product is None:
        raise Http404("The catalog offers no products.")
    query = ListQuery.parse(request.GET, product=product, site=site)
    now = timezone.now()
    keys = scoped_keys(request, account=account, site=site).filter(product=product)
    shown = listing.listed(keys, status=query.status, sort=query.sort, now=now)
    where = f"site-{site.pk}" if site is not None else f"account-{account.pk}"
    name = f"keys-{where}-{product.code}{'-' + query.status if query.status else ''}-{now:%Y%m%d}.csv"
    return csv.response(name, listing.CSV_HEADER, listing.csv_rows(shown, product=product, now=now))


@login_required
def account_keys_csv(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_account_for_user(request.user, account_id)
    return _csv(request, account=account, site=None)


@login_required
def site_keys_csv(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_site_for_user(request.user, site_id)
    return _csv(request, account=site.account, site=site)
