"""The Overview tab: who lands on it, what it shows for each kind of organisation, the key
lists its numbers lead to, and a fixed number of queries whatever the number of keys."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyledger.billing.models import ActiveSpan, Price, PriceList
from keyledger.keys.keyformat import generate
from keyledger.keys.models import ProductKey
from tests.billing.helpers import activated_at, sourced_at
from tests.keys.factories import call, product

State = ProductKey.State
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
OVERVIEW = "/overview/"
CHARTS = "/overview/charts/"


def nov(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def acme(tree):
    """Acme: a billable Server key calling home, two Critical keys (one by the clock only),
    a key turning billable on the 22nd, a key never activated; Bluebird: one billable key."""
    ok = activated_at(tree.account_a1, datetime(2026, 10, 1, tzinfo=UTC), edition="server", site=tree.site_a1)
    call(ok, now=NOW - timedelta(hours=1))
    silent = activated_at(tree.account_a1, datetime(2026, 10, 2, tzinfo=UTC), edition="desktop")
    soon = activated_at(tree.account_a1, nov(8), edition="server")
    call(soon, now=nov(17, 11))  # Critical by the clock since 11:00 today
    sourced_at(tree.account_a1, nov(1))
    bluebird = activated_at(tree.account_a2, datetime(2026, 10, 1, tzinfo=UTC), edition="server")
    call(bluebird, now=NOW - timedelta(hours=1))
    return {"ok": ok, "silent": silent, "soon": soon, "bluebird": bluebird}


def page(client, user):
    client.force_login(user)
    response = client.get(OVERVIEW)
    assert response.status_code == 200
    return response.content.decode()


def tile(html: str, status: str) -> int:
    match = re.search(rf'data-status="{status}">\s*<span class="count">(\d+)</span>', html)
    assert match, status
    return int(match[1])


def test_users_who_see_keys_land_on_the_overview(tree, client):
    for user in (tree.msp_a1_admin, tree.msp_a1_member, tree.dist_a_readonly, tree.vendor_admin):
        client.force_login(user)
        assert client.get("/").headers["Location"] == OVERVIEW


def test_the_billing_role_neither_lands_on_nor_opens_the_overview(tree, client):
    client.force_login(tree.dist_a_billing)
    assert client.get("/").headers.get("Location") != OVERVIEW
    assert client.get(OVERVIEW).status_code == 403
    assert client.get(reverse("portal:overview_keys") + "?status=ok").status_code == 403
    assert client.get(CHARTS).status_code == 403


def test_an_msp_sees_its_own_counts_lists_and_billing(tree, client, acme, frozen):
    html = page(client, tree.msp_a1_admin)
    counts = {s: tile(html, s) for s in State.values}
    assert counts == {
        State.OK: 1,
        State.CRITICAL: 2,
        State.DEACTIVATION_REQUESTED: 0,
        State.REACTIVATION_REQUESTED: 0,
        State.UNUSED: 1,
        State.DEACTIVATED: 0,
    }
    # The Critical keys, longest silent first, linked to their Activation Details.
    critical = html.split('id="critical-keys"')[1].split("</table>")[0]
    assert critical.index(acme["silent"].key) < critical.index(acme["soon"].key)
    assert reverse("portal:key_detail", args=[acme["silent"].pk]) in critical
    assert "2026-11-17 11:00 UTC" in critical
    soon = html.split('id="turning-billable"')[1].split("</table>")[0]
    assert acme["soon"].key in soon and "22 Nov 2026" in soon and acme["ok"].key not in soon
    assert f'href="{reverse("portal:reports_soon")}"' in html  # every key's forecast, on Reports
    assert "2</strong> billable keys as of now" in html and "provisional" in html
    assert "2 billable keys have no price" in html
    assert "Bluebird" not in html and acme["bluebird"].key not in html
    # An MSP's own view does not name its MSP on every row.
    assert "MSP / Account / Site" not in html and "Account / Site" in html


def test_prices_give_amounts_per_currency_and_unpriced_keys_are_counted_apart(tree, client, acme, frozen):
    acme_list = PriceList.objects.create(issuer=tree.dist_a, customer=tree.msp_a1, currency="EUR")
    Price.objects.create(
        price_list=acme_list,
        product=product("spmsp"),
        item="server",
        valid_from=date(2026, 1, 1),
        unit_minor=2550,
    )
    bluebird_list = PriceList.objects.create(issuer=tree.dist_a, customer=tree.msp_a2, currency="GBP")
    Price.objects.create(
        price_list=bluebird_list,
        product=product("spmsp"),
        item="server",
        valid_from=date(2026, 1, 1),
        unit_minor=2000,
    )
    html = page(client, tree.msp_a1_admin)
    assert "What you pay" in html and "25.50 EUR" in html and "1 billable key has no price" in html
    assert "0.00" not in html
    html = page(client, tree.dist_a_admin)
    assert "Charged to your MSPs" in html and "25.50 EUR" in html and "20.00 GBP" in html
    assert "Your cost" in html and "3 billable keys have no price" in html
    assert "3</strong> billable keys as of now" in html


def test_a_distributor_and_the_vendor_see_their_whole_subtree(tree, client, acme, frozen):
    activated_at(tree.account_b1, datetime(2026, 10, 1, tzinfo=UTC), edition="server")
    html = page(client, tree.dist_a_admin)
    assert tile(html, State.OK) == 2 and "Acme IT<br>" in html and "MSP / Account / Site" in html
    assert "Dingo" not in html
    html = page(client, tree.vendor_admin)
    assert tile(html, State.CRITICAL) == 3 and "Charged to your distributors" in html


def charts(client, user, *, htmx: bool = False):
    client.force_login(user)
    response = client.get(CHARTS, headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 200
    return response.content.decode()


def test_the_overview_loads_its_charts_after_the_page(tree, client, acme, frozen):
    html = page(client, tree.msp_a1_admin)
    assert f'hx-get="{CHARTS}" hx-trigger="load"' in html
    assert f'<a href="{CHARTS}">Open the charts</a>' in html  # without JavaScript
    fragment = charts(client, tree.msp_a1_admin, htmx=True)
    assert fragment.startswith('<div id="overview-charts">') and "<html" not in fragment
    whole = charts(client, tree.msp_a1_admin)
    assert "<html" in whole and 'id="daily-chart"' in whole and 'aria-current="page">Overview' in whole


def test_both_charts_come_with_their_numbers(tree, client, acme, frozen):
    html = charts(client, tree.msp_a1_admin, htmx=True)
    assert html.count('<svg class="chart-svg"') == 2
    assert 'id="daily-chart"' in html and 'id="monthly-chart"' in html
    daily = html.split('id="daily-numbers"')[1].split("</table>")[0]
    assert daily.count('<th scope="row">') == 90
    # Today: two ShadowProtect keys... three: the Server, the Desktop and the one from the 8th.
    last = daily.split('<time datetime="2026-11-20">')[1].split("</tr>")[0]
    assert re.findall(r'<td class="number">(\d+)</td>', last) == ["3", "3"]
    monthly = html.split('id="monthly-numbers"')[1].split("</table>")[0]
    assert monthly.count('<th scope="row">') == 12 and "November 2026 (so far)" in monthly
    november = monthly.split("November 2026 (so far)")[1].split("</tr>")[0]
    assert re.findall(r'<td class="number">(\d+)</td>', november) == ["2", "2"]
    october = monthly.split("October 2026</th>")[1].split("</tr>")[0]
    assert re.findall(r'<td class="number">(\d+)</td>', october) == ["2", "2"]
    # Not colour alone: each series has a dash or a pattern of its own, named in a legend.
    assert 'class="legend"' in html and "<pattern" in html
    assert "style=" not in html  # nothing the CSP would refuse


def test_an_organisation_without_keys_gets_a_calm_overview(tree, client, frozen):
    html = page(client, tree.msp_a2_admin)
    assert "No key is Critical" in html
    assert "No billable keys yet." in html
    html = charts(client, tree.msp_a2_admin)
    assert "No key was active in the last 90 days." in html
    assert "No key was billable in the last 12 months." in html


def test_each_count_leads_to_its_keys(tree, client, acme, frozen):
    client.force_login(tree.msp_a1_admin)
    url = reverse("portal:overview_keys")
    html = client.get(url + "?status=critical").content.decode()
    assert "Critical keys" in html and acme["silent"].key in html and acme["soon"].key in html
    assert acme["ok"].key not in html
    html = client.get(url + "?status=ok").content.decode()
    assert acme["ok"].key in html and acme["soon"].key not in html
    html = client.get(url + "?status=billable-soon").content.decode()
    assert acme["soon"].key in html and "22 Nov 2026" in html
    assert client.get(url + "?status=nonsense").status_code == 404
    assert client.get(url).status_code == 404
    assert client.post(url + "?status=ok").status_code == 405


# --- a fixed number of queries --------------------------------------------------------------


def bulk_keys(tree, count: int) -> None:
    """`count` keys at Acme without going through the actions (speed): a mix of OK, Critical
    by the clock, never activated and deactivated, each active one with its span."""
    spmsp = product("spmsp")
    keys, spans = [], []
    for n in range(count):
        started = datetime(2026, 11, 1 + n % 19, tzinfo=UTC)
        state = [State.OK, State.OK, State.UNUSED, State.DEACTIVATED][n % 4]
        bound = state != State.UNUSED
        # Every other OK key called home an hour ago; the rest are Critical by the clock.
        called = NOW - timedelta(hours=1) if n % 4 == 0 else started
        keys.append(
            ProductKey(
                key=generate(),
                product=spmsp,
                msp=tree.msp_a1,
                account=tree.account_a1,
                state=state,
                edition="server" if bound else "",
                machine_name=f"M{n}" if bound else None,
                machine_hardware_id=f"H{n}" if bound else None,
                machine_software_id=f"S{n}" if bound else None,
                activated_at=started if bound else None,
                last_call_home_at=called if bound else None,
                critical_due_at=called + timedelta(hours=72) if state == State.OK else None,
            )
        )
    ProductKey.objects.bulk_create(keys)
    for key in ProductKey.objects.filter(msp=tree.msp_a1, active_spans__isnull=True).exclude(
        state=State.UNUSED
    ):
        spans.append(
            ActiveSpan(
                key=key,
                msp=tree.msp_a1,
                product=spmsp,
                period_start=key.activated_at,
                started_at=key.activated_at,
                ended_at=key.activated_at + timedelta(days=3) if key.state == State.DEACTIVATED else None,
                ends_period=key.state == State.DEACTIVATED,
                edition="server",
                account=tree.account_a1,
                machine_name=key.machine_name,
            )
        )
    ActiveSpan.objects.bulk_create(spans)


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        OVERVIEW,
        "/overview/keys/?status=critical",
        "/overview/keys/?status=ok",
        "/overview/keys/?status=billable-soon",
    ],
)
def test_the_same_number_of_queries_for_10_and_for_1000_keys(tree, client, frozen, url):
    client.force_login(tree.dist_a_admin)
    bulk_keys(tree, 10)
    few = queries(client, url)
    bulk_keys(tree, 990)
    assert ProductKey.objects.filter(msp=tree.msp_a1).count() == 1000
    assert queries(client, url) == few
    if url in (OVERVIEW, CHARTS):
        assert few <= 15
