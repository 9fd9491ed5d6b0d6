"""The key list of an account or site: counts on the product tabs, the status filter,
sortable headings, pages and the list as CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from keyledger.customers.models import Site
from keyledger.keys import actions
from keyledger.keys.models import ProductKey
from tests.keys.factories import PRODUCT_ACTOR, activated, call, source

HTMX = {"HTTP_HX_REQUEST": "true"}
State = ProductKey.State


def site_keys_url(site, **params) -> str:
    url = reverse("portal:site_keys", kwargs={"site_id": site.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def account_keys_url(account, **params) -> str:
    url = reverse("portal:account_keys", kwargs={"account_id": account.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def text(response) -> str:
    return response.content.decode()


def rows(body: str) -> list[str]:
    return re.findall(r'class="product-key"[^>]*>([0-9A-Z-]{29})</a>', body)


def filter_counts(body: str) -> dict[str, int]:
    nav = body.split('class="status-filter"')[1].split("</nav>")[0]
    return {
        label.strip(): int(n) for label, n in re.findall(r'>([^<>]+) <span class="count">(\d+)</span>', nav)
    }


def current_filter(body: str) -> str:
    nav = body.split('class="status-filter"')[1].split("</nav>")[0]
    (label,) = re.findall(r'aria-current="true">([^<]+) <span', nav)
    return label


def machine(name: str) -> dict[str, str]:
    return {"name": name, "hardware_id": f"HW-{name}", "software_id": f"SW-{name}"}


@pytest.fixture
def keys_of_every_status(tree):
    """At the site, seen 73 hours after they were activated: two OK (they called home since),
    two Critical (silent past the 72-hour threshold, before the sweeper writes it down), one
    deactivation and one reactivation pending, one deactivated, one never activated."""
    site = tree.site_a1

    def active(name):
        (key,) = source(account=tree.account_a1, site=site)
        call(key, machine=machine(name))
        return ProductKey.objects.get(pk=key.pk)

    keys = {name: active(name) for name in ("ok1", "ok2", "crit1", "crit2", "pending", "off", "back")}
    actions.request_deactivation(key=keys["pending"], actor=PRODUCT_ACTOR)
    for name in ("off", "back"):
        actions.request_deactivation(key=keys[name], actor=PRODUCT_ACTOR)
        call(keys[name], machine=machine(name))
    actions.request_reactivation(key=keys["back"], actor=PRODUCT_ACTOR)
    (keys["unused"],) = source(account=tree.account_a1, site=site)
    later = timezone.now() + timedelta(hours=73)
    for name in ("ok1", "ok2"):
        call(keys[name], machine=machine(name), now=later)
    return keys, later


def test_the_filter_shows_each_status_with_its_count(tree, client_for, keys_of_every_status):
    keys, later = keys_of_every_status
    with time_machine.travel(later, tick=False):
        client = client_for(tree.msp_a1_member)
        everything = text(client.get(site_keys_url(tree.site_a1), **HTMX))
        critical = text(client.get(site_keys_url(tree.site_a1, status="critical"), **HTMX))
        pending = text(client.get(site_keys_url(tree.site_a1, status="pending"), **HTMX))

    assert filter_counts(everything) == {
        "All": 8,
        "OK": 2,
        "Critical": 2,
        "Requests pending": 2,
        "Deactivated": 1,
        "Not activated": 1,
    }
    assert current_filter(everything) == "All"
    assert sorted(rows(critical)) == sorted(keys[n].key for n in ("crit1", "crit2"))
    assert current_filter(critical) == "Critical"
    assert sorted(rows(pending)) == sorted(keys[n].key for n in ("pending", "back"))
    assert "2 keys" in critical


def test_an_unknown_status_is_ignored(tree, client_for, keys_of_every_status):
    keys, later = keys_of_every_status
    with time_machine.travel(later, tick=False):
        body = text(client_for(tree.msp_a1_member).get(site_keys_url(tree.site_a1, status="bogus"), **HTMX))

    assert len(rows(body)) == len(keys)
    assert current_filter(body) == "All"


def test_the_filter_is_kept_by_tabs_headings_pages_and_the_key_management_url(tree, client_for):
    source(account=tree.account_a1, site=tree.site_a1, quantity=10)
    client = client_for(tree.msp_a1_member)

    body = text(client.get(site_keys_url(tree.site_a1, status="unused", sort="-key"), **HTMX))

    detail = reverse("portal:site_detail", args=[tree.site_a1.pk])
    tab = body.split('id="product-tab-gre"')[1].split(">")[0]
    assert "product=gre&amp;status=unused&amp;sort=-key" in tab
    assert f'hx-push-url="{detail}?product=gre&amp;status=unused&amp;sort=-key"' in tab
    heading = body.split('class="col-machine"')[1].split("</th>")[0]
    assert "status=unused&amp;sort=machine" in heading
    csv_link = re.search(r'class="csv-download" href="([^"]+)"', body).group(1)
    assert csv_link.endswith("/keys/csv/?product=spmsp&amp;status=unused&amp;sort=-key")
    # The full page of Key Management passes it on to the panel it loads.
    page = text(client.get(detail, {"product": "spmsp", "status": "unused"}))
    assert "status=unused" in page.split('id="key-panel"')[1].split(">")[0]


def test_pages_show_the_total_and_keep_the_filter(tree, client_for):
    source(account=tree.account_a1, site=tree.site_a1, quantity=10)
    source(account=tree.account_a1, site=tree.site_a1, quantity=10)
    source(account=tree.account_a1, site=tree.site_a1, quantity=10)
    activated(account=tree.account_a1)  # OK, so not under Not activated
    client = client_for(tree.msp_a1_member)

    first = text(client.get(account_keys_url(tree.account_a1, status="unused"), **HTMX))
    second = text(client.get(account_keys_url(tree.account_a1, status="unused", page=2), **HTMX))

    assert "Page 1 of 2 · 30 keys" in first
    assert "status=unused&amp;page=2" in first
    assert len(rows(first)) == 25 and len(rows(second)) == 5
    assert not set(rows(first)) & set(rows(second))


def test_the_list_sorts_by_a_heading_and_back(tree, client_for):
    names = ["beta", "Alpha", "gamma", "DELTA"]
    keys = {}
    for name in names:
        (key,) = source(account=tree.account_a1, site=tree.site_a1)
        call(key, machine=machine(name))
        keys[name] = key.key
    client = client_for(tree.msp_a1_member)

    default = text(client.get(site_keys_url(tree.site_a1), **HTMX))
    by_machine = text(client.get(site_keys_url(tree.site_a1, sort="machine"), **HTMX))
    reversed_ = text(client.get(site_keys_url(tree.site_a1, sort="-machine"), **HTMX))

    assert rows(default) == sorted(keys.values())
    # Case does not count.
    assert rows(by_machine) == [keys[n] for n in ("Alpha", "beta", "DELTA", "gamma")]
    assert rows(reversed_) == [keys[n] for n in ("gamma", "DELTA", "beta", "Alpha")]
    heading = by_machine.split('class="col-machine"')[1].split("</th>")[0]
    assert 'aria-sort="ascending"' in heading
    assert "sort=-machine" in heading  # clicked again: the other way round
    assert 'aria-sort="descending"' in reversed_.split('class="col-machine"')[1].split("</th>")[0]
    assert 'aria-sort="ascending"' in default.split('class="col-key"')[1].split("</th>")[0]


def test_sorting_by_status_puts_trouble_first(tree, client_for, keys_of_every_status):
    keys, later = keys_of_every_status
    with time_machine.travel(later, tick=False):
        body = text(client_for(tree.msp_a1_member).get(site_keys_url(tree.site_a1, sort="status"), **HTMX))

    listed = rows(body)
    assert set(listed[:2]) == {keys["crit1"].key, keys["crit2"].key}
    assert listed[-1] == keys["off"].key


def test_a_sites_list_has_no_site_column_nor_sort(tree, client_for):
    second = Site.objects.create(account=tree.account_a1, name="Alpha Dental Riverside")
    source(account=tree.account_a1, site=tree.site_a1)
    source(account=tree.account_a1, site=second)
    client = client_for(tree.msp_a1_member)

    at_site = text(client.get(site_keys_url(tree.site_a1, sort="site"), **HTMX))
    at_account = text(client.get(account_keys_url(tree.account_a1, sort="-site"), **HTMX))

    assert 'class="col-site"' not in at_site
    assert 'aria-sort="ascending"' in at_site.split('class="col-key"')[1].split("</th>")[0]
    assert 'aria-sort="descending"' in at_account.split('class="col-site"')[1].split("</th>")[0]
    assert at_account.index("Alpha Dental Riverside") < at_account.index("Alpha Dental Main Street</span>")


def test_each_tab_counts_its_keys_and_critical_keys(tree, client_for):
    source(account=tree.account_a1, site=tree.site_a1, quantity=3)
    silent = activated(account=tree.account_a1)
    source(account=tree.account_a1, code="gre")
    later = timezone.now() + timedelta(hours=73)
    with time_machine.travel(later, tick=False):
        client = client_for(tree.msp_a1_member)
        with CaptureQueriesContext(connection) as queries:
            body = text(client.get(account_keys_url(tree.account_a1), **HTMX))

    def tab(code):
        return body.split(f'id="product-tab-{code}"')[1].split("</a>")[0]

    assert (
        '<span class="tab-count" aria-hidden="true">4 · <span class="tab-critical">&#9888; 1</span>'
        in tab("spmsp")
    )
    # In words, as each tab's description.
    assert 'aria-describedby="product-tab-spmsp-counts"' in tab("spmsp")
    assert '<span id="product-tab-spmsp-counts">4 keys, 1 Critical</span>' in body
    assert '<span id="product-tab-gre-counts">1 key</span>' in body
    assert '<span id="product-tab-imagemanager-counts">0 keys</span>' in body
    assert silent.key in body
    # One grouped query for all the tabs.
    grouped = [q["sql"] for q in queries.captured_queries if '"product_id" AS "product", COUNT(' in q["sql"]]
    assert len(grouped) == 1


def _panel_queries(client, site) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(site_keys_url(site), **HTMX)
    assert response.status_code == 200
    return len(queries)


def test_the_panel_costs_the_same_queries_for_3_keys_as_for_30(tree, client_for):
    client = client_for(tree.msp_a1_member)
    for key in source(account=tree.account_a1, site=tree.site_a1, quantity=3):
        call(key, machine=machine(key.key))
    client.get(site_keys_url(tree.site_a1), **HTMX)  # the session, warmed
    few = _panel_queries(client, tree.site_a1)

    for _ in range(3):
        for key in source(account=tree.account_a1, site=tree.site_a1, quantity=9):
            call(key, machine=machine(key.key))

    assert ProductKey.objects.filter(site=tree.site_a1).count() == 30
    assert _panel_queries(client, tree.site_a1) == few


def test_read_only_users_get_no_checkboxes(tree, client_for):
    source(account=tree.account_a1, site=tree.site_a1, quantity=2)

    read_only = text(client_for(tree.dist_a_readonly).get(site_keys_url(tree.site_a1), **HTMX))
    member = text(client_for(tree.dist_a_member).get(site_keys_url(tree.site_a1), **HTMX))

    assert 'type="checkbox"' not in read_only and "bulk-keys" not in read_only
    assert member.count('name="key"') == 2
    assert "Select all on this page" in member


# --- Download as CSV --------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_csv_is_every_page_of_the_list_as_filtered_and_sorted(tree, client_for):
    keys = source(account=tree.account_a1, site=tree.site_a1, quantity=10)
    keys += source(account=tree.account_a1, site=tree.site_a1, quantity=10)
    keys += source(account=tree.account_a1, quantity=10)
    on = activated(account=tree.account_a1, edition="vm")
    client = client_for(tree.msp_a1_member)
    url = reverse("portal:account_keys_csv", kwargs={"account_id": tree.account_a1.pk})

    unused = csv_rows(client.get(url, {"product": "spmsp", "status": "unused", "sort": "-key"}))
    everything = csv_rows(client.get(url, {"product": "spmsp"}))

    assert unused[0] == [
        "Product Key",
        "Product",
        "Status",
        "Account",
        "Site",
        "Machine Name",
        "Edition",
        "Activated",
        "Last Call Home",
    ]
    assert [r[0] for r in unused[1:]] == sorted((k.key for k in keys), reverse=True)  # 30: all pages
    assert {r[4] for r in unused[1:]} == {"Alpha Dental Main Street", ""}
    assert len(everything) == 32
    (row,) = [r for r in everything if r[0] == on.key]
    on.refresh_from_db()
    assert row == [
        on.key,
        "ShadowProtect for Managed Service Providers (SP-MSP)",
        "OK",
        "Alpha Dental",
        "",
        "FS01",
        "Virtual Machine",
        on.activated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        on.last_call_home_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]


def test_the_csv_of_a_site_holds_only_its_keys_the_user_may_see(tree, client_for):
    (here,) = source(account=tree.account_a1, site=tree.site_a1)
    source(account=tree.account_a1)
    url = reverse("portal:site_keys_csv", kwargs={"site_id": tree.site_a1.pk})

    rows_ = csv_rows(client_for(tree.msp_a1_member).get(url))

    assert [r[0] for r in rows_[1:]] == [here.key]
    assert client_for(tree.msp_a2_admin).get(url).status_code == 404
    assert client_for(tree.dist_a_billing).get(url).status_code == 403
