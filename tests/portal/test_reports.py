"""The Reports tab (SPEC §9): who sees it and lands on it, whose keys each viewer may
choose and on which prices, the Activation Report, the Billing Detail Report and Turning
billable soon on screen and as CSV files, bad input, and flat query counts."""

from __future__ import annotations

import csv
import io
import re

import pytest
import time_machine
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.reports.activation import HEADER as ACTIVATION_HEADER
from keyledger.reports.billing_detail import HEADER as BILLING_HEADER
from keyledger.reports.scope import ReportScope
from keyledger.reports.soon import HEADER as SOON_HEADER
from tests.reports.bulk import many_active_keys
from tests.reports.conftest import NOW, build_prices, build_world, utc
from tests.reports.helpers import activation, billing, csv_bytes

NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture
def world(tree):
    with time_machine.travel(NOW, tick=False):
        yield build_world(tree)


@pytest.fixture
def prices(world):
    return build_prices(world)


def url(name: str, **params) -> str:
    base = reverse(f"portal:{name}")
    if not params:
        return base
    pairs = [
        (k, v) for k, values in params.items() for v in (values if isinstance(values, list) else [values])
    ]
    return base + "?" + "&".join(f"{k}={v}" for k, v in pairs)


def text(response) -> str:
    return response.content.decode()


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def lines(response_or_bytes) -> list[list[str]]:
    data = response_or_bytes if isinstance(response_or_bytes, bytes) else body(response_or_bytes)
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def keys_shown(response) -> list[str]:
    return re.findall(r'class="product-key"[^>]*>([0-9A-Z-]{29})<', text(response))


def field_error(response, field: str) -> str:
    match = re.search(rf'<p class="error" id="id_{field}_error"[^>]*>([^<]*)</p>', text(response))
    assert match, f"no error next to {field}"
    return match.group(1)


def has_report(response) -> bool:
    return 'class="report-result"' in text(response)


# --- who sees it ----------------------------------------------------------------------------


def test_the_billing_login_lands_on_reports(tree, client):
    client.force_login(tree.dist_a_billing)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:reports")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'aria-current="page">Reports</a>' in text(page)
    assert "Activation Report" in text(page) and "Billing Detail Report" in text(page)


@pytest.mark.parametrize(
    "user",
    [
        "vendor_admin",
        "dist_a_admin",
        "dist_a_member",
        "dist_a_billing",
        "dist_a_readonly",
        "msp_a1_admin",
        "msp_a1_member",
    ],
)
def test_every_role_of_a_distributor_or_msp_and_vendor_staff_has_the_reports_tab(tree, client, user):
    client.force_login(getattr(tree, user))
    response = client.get(url("reports"))
    assert response.status_code == 200
    assert f'<a href="{reverse("portal:reports")}" aria-current="page">Reports</a>' in text(response)


def test_reports_only_read(tree, client):
    client.force_login(tree.dist_a_admin)
    for name in (
        "reports",
        "reports_activation",
        "reports_activation_csv",
        "reports_billing",
        "reports_soon_csv",
    ):
        assert client.post(url(name)).status_code == 405


# --- whose keys, which prices --------------------------------------------------------------


def test_an_msp_sees_only_its_own_keys_and_no_picker(world, client):
    client.force_login(world.tree.msp_a1_member)
    response = client.get(url("reports_activation", **NOVEMBER))
    assert set(keys_shown(response)) == {world.all_month.key, world.short.key, world.twice.key}
    assert 'name="msp"' not in text(response) and 'name="prices"' not in text(response)
    assert "Bluebird" not in text(response)
    response = client.get(url("reports_activation_csv", **NOVEMBER))
    assert {line[0] for line in lines(response)[1:]} == {
        world.all_month.key,
        world.short.key,
        world.twice.key,
    }


def test_a_distributor_picks_one_of_its_msps(world, client):
    t = world.tree
    client.force_login(t.dist_a_member)
    everything = client.get(url("reports_activation", **NOVEMBER))
    assert world.image.key in keys_shown(everything) and world.dingo.key not in keys_shown(everything)
    assert f'<option value="{t.msp_a2.pk}">Bluebird Managed</option>' in text(everything)
    bluebird = client.get(url("reports_activation", msp=t.msp_a2.pk, **NOVEMBER))
    assert keys_shown(bluebird) == [world.image.key]
    assert f'<option value="{t.msp_a2.pk}" selected>Bluebird Managed</option>' in text(bluebird)
    # The tabs keep the choice.
    assert f'href="{reverse("portal:reports_billing")}?msp={t.msp_a2.pk}"' in text(bluebird)


@pytest.mark.parametrize(
    "name",
    [
        "reports",
        "reports_activation",
        "reports_activation_csv",
        "reports_billing",
        "reports_billing_csv",
        "reports_soon",
        "reports_soon_csv",
    ],
)
@pytest.mark.parametrize(
    ("user", "param", "victim"),
    [
        ("dist_a_admin", "msp", "msp_b1"),
        ("msp_a1_admin", "msp", "msp_a2"),
        ("dist_b_admin", "msp", "msp_a1"),
        ("dist_a_billing", "distributor", "dist_b"),
        ("msp_a1_member", "distributor", "dist_a"),
    ],
)
def test_an_organisation_outside_the_subtree_is_not_found(tree, client, name, user, param, victim):
    client.force_login(getattr(tree, user))
    response = client.get(url(name, **{param: getattr(tree, victim).pk}, month="2026-11", **NOVEMBER))
    assert response.status_code == 404


def test_vendor_staff_pick_a_distributor_then_an_msp(world, client):
    t = world.tree
    client.force_login(t.vendor_admin)
    first = client.get(url("reports_activation"))
    assert f'<option value="{t.dist_b.pk}">Southgate Supply</option>' in text(first)
    assert "choose a distributor to pick one" in text(first)
    # Choosing a distributor redraws the MSP list (htmx asks with picker=1: no report).
    picked = client.get(url("reports_activation", distributor=t.dist_b.pk, picker=1, **NOVEMBER))
    assert f'<option value="{t.msp_b1.pk}">Dingo Networks</option>' in text(picked)
    assert not has_report(picked)
    dingo = client.get(url("reports_activation", distributor=t.dist_b.pk, msp=t.msp_b1.pk, **NOVEMBER))
    assert keys_shown(dingo) == [world.dingo.key]


@pytest.mark.parametrize(
    ("user", "bases"),
    [("vendor_admin", ["sale", "msp"]), ("dist_a_admin", ["msp", "own"]), ("msp_a1_admin", [])],
)
def test_each_viewer_chooses_among_its_price_bases(tree, client, user, bases):
    client.force_login(getattr(tree, user))
    response = client.get(url("reports_billing"))
    assert re.findall(r'<option value="(\w+)"(?: selected)?>(?:What|Our)', text(response)) == bases


def test_prices_the_viewer_may_not_see_are_a_field_error(tree, client):
    client.force_login(tree.dist_a_admin)
    response = client.get(url("reports_billing", month="2026-11", prices="sale"))
    assert response.status_code == 200 and not has_report(response)
    assert "Choose the prices to show" in field_error(response, "prices")
    client.force_login(tree.msp_a1_admin)
    response = client.get(url("reports_billing", month="2026-11", prices="own"))
    assert not has_report(response) and "Choose the prices to show" in text(response)


# --- the Activation Report -----------------------------------------------------------------


def test_view_report_then_sort_by_a_heading(world, client):
    client.force_login(world.tree.dist_a_admin)
    response = client.get(url("reports_activation", **NOVEMBER))
    assert '<strong class="row-count">5</strong> rows' in text(response)
    heading = re.search(r'<th scope="col" aria-sort="none"><a href="([^"]+)">Version</a>', text(response))
    assert heading and "sort=version" in heading.group(1)
    by_key = client.get(url("reports_activation", sort="product_key", **NOVEMBER))
    assert keys_shown(by_key) == sorted(keys_shown(by_key))
    assert re.search(
        r'aria-sort="ascending"><a href="\?sort=-product_key&amp;start=2026-11-01&amp;end=2026-11-30"',
        text(by_key),
    )
    backwards = client.get(url("reports_activation", sort="-product_key", **NOVEMBER))
    assert keys_shown(backwards) == sorted(keys_shown(by_key), reverse=True)


def test_download_as_csv_file_streams_every_row(world, client):
    t = world.tree
    client.force_login(t.dist_a_admin)
    page = client.get(url("reports_activation", sort="-activated", **NOVEMBER))
    link = re.search(r'<a class="button" href="([^"]+)" download>Download as CSV file</a>', text(page))
    assert link
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="activation-report-2026-11-01-to-2026-11-30.csv"'
    )
    data = body(response)
    assert data.startswith((",".join(ACTIVATION_HEADER) + "\r\n").encode())
    expected = csv_bytes(
        activation(
            ReportScope(viewer=t.dist_a), utc(2026, 11, 1).date(), utc(2026, 11, 30).date(), sort="-activated"
        )
    )
    assert data == expected
    assert len(lines(data)) == 6


def test_products_to_include(world, client):
    client.force_login(world.tree.dist_a_admin)
    response = client.get(url("reports_activation", product=["imagemanager", "gre"], **NOVEMBER))
    assert keys_shown(response) == [world.image.key]
    assert 'value="imagemanager" id="id_product_1" checked' in text(response)


def test_a_report_with_no_rows_says_so(world, client):
    client.force_login(world.tree.msp_a1_admin)
    response = client.get(url("reports_activation", start="2020-01-01", end="2020-01-31"))
    assert "No product key was active in these days." in text(response)
    assert '<strong class="row-count">0</strong> rows' in text(response)
    csv_file = client.get(url("reports_activation_csv", start="2020-01-01", end="2020-01-31"))
    assert body(csv_file) == (",".join(ACTIVATION_HEADER) + "\r\n").encode()


# --- the Billing Detail Report -------------------------------------------------------------


def test_billing_detail_one_table_per_product_with_subtotals_and_totals(world, prices, client):
    client.force_login(world.tree.dist_a_admin)
    response = client.get(url("reports_billing", month="2026-11"))
    page = text(response)
    assert "<caption>ShadowProtect for Managed Service Providers (SP-MSP)</caption>" in page
    assert "<caption>StorageCraft ImageManager</caption>" in page
    assert "Subtotal · Server: 2 keys" in page
    assert '<th scope="row" colspan="4">Total in EUR</th><td class="num">50.00</td>' in page
    assert '<th scope="row" colspan="4">Total in GBP</th><td class="num">5.25</td>' in page
    assert (
        '<span class="badge warn">Provisional</span>' in page
        and "<strong>" not in page.split("month-status")[1][:60]
    )
    # Each row links to the key's Activation Details.
    assert f'href="{reverse("portal:key_detail", kwargs={"key_id": world.twice.pk})}"' in page


def test_the_running_month_is_provisional_up_to_now(world, client):
    client.force_login(world.tree.msp_a1_admin)
    response = client.get(url("reports_billing", month="2026-12"))
    assert "December 2026 is the running month, counted up to now" in text(response)


def test_the_billing_role_sees_the_report_without_links_to_keys(world, prices, client):
    client.force_login(world.tree.dist_a_billing)
    response = client.get(url("reports_billing", month="2026-11"))
    assert world.all_month.key in text(response)
    assert reverse("portal:key_detail", kwargs={"key_id": world.all_month.pk}) not in text(response)


def test_billing_detail_csv(world, prices, client):
    t = world.tree
    client.force_login(t.dist_a_admin)
    response = client.get(url("reports_billing_csv", month="2026-11", prices="own"))
    assert response["Content-Disposition"] == 'attachment; filename="billing-detail-report-2026-11.csv"'
    data = body(response)
    assert data == csv_bytes(billing(ReportScope(viewer=t.dist_a, basis="own")))
    assert lines(data)[0] == BILLING_HEADER


# --- Turning billable soon -----------------------------------------------------------------


def test_turning_billable_soon_shows_at_once_and_downloads(world, client):
    client.force_login(world.tree.msp_a1_admin)
    response = client.get(url("reports_soon"))
    assert has_report(response)
    shown = keys_shown(response)
    assert shown[-1] == world.late.key and "22 Dec 2026" in text(response)
    csv_file = client.get(url("reports_soon_csv", sort="-billable_on"))
    rows = lines(csv_file)
    assert rows[0] == SOON_HEADER and rows[1][1] == world.late.key and rows[1][-1] == "2026-12-22"


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "field", "message"),
    [
        (
            "reports_activation",
            {"start": "2026-12-01", "end": "2026-11-01"},
            "end",
            "cannot be before the Start Date",
        ),
        ("reports_activation", {"start": "2025-01-01", "end": "2026-01-02"}, "end", "a year at most"),
        ("reports_activation", {"start": "2026-13-01", "end": "2026-12-01"}, "start", "valid date"),
        ("reports_activation", {"start": "yesterday", "end": "2026-12-01"}, "start", "valid date"),
        ("reports_activation", {"start": "0001-01-01", "end": "2026-12-01"}, "start", "between 1970-01-01"),
        ("reports_activation", {"start": "2026-01-01", "end": "9999-12-31"}, "end", "between 1970-01-01"),
        ("reports_activation", {"start": "", "end": "2026-12-01"}, "start", "required"),
        ("reports_activation", {**NOVEMBER, "product": "cloudbackup"}, "product", "not one of the available"),
        ("reports_activation", {**NOVEMBER, "sort": "price"}, "sort", "Sort by one of"),
        ("reports_activation", {**NOVEMBER, "sort": "-" * 50}, "sort", "at most 40"),
        ("reports_billing", {"month": "2027-01"}, "month", "has not begun yet"),
        ("reports_billing", {"month": "2026-13"}, "month", "YYYY-MM"),
        ("reports_billing", {"month": "Nov 2026"}, "month", "YYYY-MM"),
        ("reports_billing", {"month": ""}, "month", "required"),
        ("reports_billing", {"month": "1969-12"}, "month", "from 1970"),
        ("reports_billing", {"month": "2026-11", "sort": "amount;drop"}, "sort", "Sort by one of"),
        ("reports_soon", {"sort": "nothing"}, "sort", "Sort by one of"),
    ],
)
def test_bad_input_is_a_field_error_and_no_report(world, client, name, params, field, message):
    client.force_login(world.tree.dist_a_admin)
    audit = AuditEntry.objects.count()
    response = client.get(url(name, **params))
    assert response.status_code == 200
    assert message in field_error(response, field)
    assert not has_report(response)
    # The CSV file of the same request is refused the same way, never a server error; only
    # its span may be longer than a year.
    csv_response = client.get(url(name + "_csv", **params))
    if message == "a year at most":
        assert csv_response.status_code == 200 and csv_response.streaming
    else:
        assert csv_response.status_code == 400 and not csv_response.streaming
    assert AuditEntry.objects.count() == audit


def test_the_csv_file_may_span_more_than_a_year(world, client):
    client.force_login(world.tree.dist_a_admin)
    response = client.get(url("reports_activation_csv", start="2020-01-01", end="2026-12-31"))
    assert response.status_code == 200 and len(lines(response)) == 1 + 7


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999", "1e3"])
def test_an_odd_page_number_shows_a_page(world, client, page):
    client.force_login(world.tree.dist_a_admin)
    response = client.get(url("reports_activation", page=page, **NOVEMBER))
    assert response.status_code == 200 and len(keys_shown(response)) == 5
    response = client.get(url("reports_billing", page=page, month="2026-11"))
    assert response.status_code == 200 and len(keys_shown(response)) == 4


# --- query counts --------------------------------------------------------------------------


REPORT_PAGES = [
    ("reports", {}),
    ("reports_activation", {"start": "2026-11-01", "end": "2026-12-10", "sort": "-machine_name"}),
    ("reports_activation_csv", {"start": "2026-11-01", "end": "2026-12-10"}),
    ("reports_billing", {"month": "2026-11"}),
    ("reports_billing", {"month": "2026-12", "sort": "amount"}),
    ("reports_billing_csv", {"month": "2026-11"}),
    ("reports_soon", {}),
    ("reports_soon_csv", {}),
]


def _queries(client, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
        body(response)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(("name", "params"), REPORT_PAGES, ids=lambda v: v if isinstance(v, str) else "")
def test_each_report_makes_as_many_queries_for_10_keys_as_for_1000(world, prices, client, name, params):
    t = world.tree
    client.force_login(t.dist_a_admin)
    address = url(name, msp=t.msp_a1.pk, **params)
    many_active_keys(t.account_a1, 4, since=utc(2026, 11, 3))
    few = _queries(client, address)
    many_active_keys(t.account_a1, 1000, since=utc(2026, 11, 3))
    assert _queries(client, address) == few
