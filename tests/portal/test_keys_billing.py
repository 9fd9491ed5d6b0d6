"""Billing on the key pages: Activation Details say why a key is billable, month by month,
and forecast the running month; the key lists have a column for this month, computed for
the whole page in one query."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.reports.bulk import many_active_keys
from tests.reports.conftest import NOW, build_world, utc

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(tree):
    with time_machine.travel(NOW, tick=False):
        yield build_world(tree)


def text(response) -> str:
    return response.content.decode()


def detail(client, key, **extra):
    response = client.get(reverse("portal:key_detail", kwargs={"key_id": key.pk}), **extra)
    assert response.status_code == 200
    return text(response)


def billing_rows(page: str) -> list[list[str]]:
    table = page.split('class="list key-billing-months"')[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


def forecast(page: str) -> str:
    match = re.search(r'<p class="forecast" id="key-forecast"><strong>This month:</strong> ([^<]*)</p>', page)
    assert match
    return match.group(1)


def test_activation_details_explain_each_month_with_the_spans_that_made_it(world, client_for):
    page = detail(client_for(world.tree.msp_a1_member), world.twice)
    december, november, october = billing_rows(page)
    assert december[:3] == ["December 2026 (so far)", "10", "No"]
    assert november[:3] == ["November 2026", "16", "Yes"]
    assert october[:3] == ["October 2026", "12", "No"]
    # Why: active 1-5 November until the deactivation, then again from the 20th.
    assert (
        "2026-10-20 00:00 UTC → 2026-11-05 12:00 UTC (Server): 1 Nov to 5 Nov, 5 days counted" in november[3]
    )
    assert "2026-11-20 12:00 UTC → still active (Server): 20 Nov to 30 Nov, 11 days counted" in november[3]
    assert "billable in a month when it is active on more than 14 days" in page


def test_the_forecast_says_when_to_deactivate_to_avoid_this_months_charge(world, client_for):
    client = client_for(world.tree.msp_a1_member)
    assert forecast(detail(client, world.december)) == (
        "Deactivate before 15 Dec to avoid this month&#x27;s charge (10 active days so far)."
    )
    assert forecast(detail(client, world.unused)) == "Not active this month: not billable."
    (month,) = billing_rows(detail(client, world.unused))
    assert month == ["December 2026 (so far)", "0", "No", "Not active this month."]


def test_a_key_its_product_cannot_deactivate_says_when_it_becomes_billable(world, client_for):
    page = detail(client_for(world.tree.dist_a_member), world.image)
    assert forecast(page) == "Becomes billable on 15 Dec if it stays active (10 active days so far)."


def test_once_past_the_line_the_key_is_billable_this_month(world, client_for):
    with time_machine.travel(utc(2026, 12, 16, 9), tick=False):
        # Signed in then: a session idle since today would have ended.
        client = client_for(world.tree.msp_a1_member)
        assert forecast(detail(client, world.december)).startswith(
            "Billable this month (16 active days so far"
        )


def test_the_billing_section_opens_in_the_panel_with_htmx(world, client_for):
    page = detail(client_for(world.tree.msp_a1_member), world.december, **HTMX)
    assert page.lstrip().startswith('<section id="activation-details"') and 'id="key-forecast"' in page


def keys_panel(client, account, **params):
    url = reverse("portal:account_keys", kwargs={"account_id": account.pk})
    return client.get(url, params)


def forecast_column(page: str) -> dict[str, str]:
    rows = re.findall(
        r'class="product-key"[^>]*>([0-9A-Z-]{29})</a>.*?<td class="[^"]*\bforecast\b[^"]*">([^<]*)</td>',
        page,
        re.S,
    )
    return dict(rows)


def test_the_key_list_shows_this_months_days_and_the_day_it_becomes_billable(world, client_for):
    w = world
    response = keys_panel(client_for(w.tree.msp_a1_member), w.tree.account_a1, product="spmsp")
    assert '<th scope="col" class="col-forecast">This month</th>' in text(response)
    column = forecast_column(text(response))
    assert column[w.december.key] == "10 days · billable from 15 Dec"
    assert column[w.late.key] == "3 days · billable from 22 Dec"
    assert column[w.unused.key] == "—"
    with time_machine.travel(utc(2026, 12, 20, 9), tick=False):
        later = forecast_column(text(keys_panel(client_for(w.tree.msp_a1_member), w.tree.account_a1)))
    assert later[w.december.key] == "20 days · billable"


def _queries(client, account) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = keys_panel(client, account, product="spmsp")
    assert response.status_code == 200
    return len(queries)


def test_the_forecast_column_costs_one_query_for_the_page_however_many_keys(world, client_for):
    t = world.tree
    client = client_for(t.msp_a1_member)
    few = _queries(client, t.account_a1)
    many_active_keys(t.account_a1, 60, since=utc(2026, 11, 25))
    response = keys_panel(client, t.account_a1, product="spmsp")
    assert len(forecast_column(text(response))) == 25  # a full page
    assert "10 days · billable from 15 Dec" in forecast_column(text(response)).values()
    assert _queries(client, t.account_a1) == few
