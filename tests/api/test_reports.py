"""The reports in the API: JSON pages sorted by any column, the portal's CSV bytes with
Accept: text/csv or ?format=csv, whose keys and which prices, and bad input as 422s."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyledger.api.api import api
from keyledger.api.models import ApiToken
from keyledger.billing.months import Month
from tests.api.conftest import ApiClient, make_token
from tests.reports.conftest import NOW, build_prices, build_world


@pytest.fixture
def world(tree):
    with time_machine.travel(NOW, tick=False):
        yield build_world(tree)


@pytest.fixture
def prices(world):
    return build_prices(world)


def client(organisation, scope=ApiToken.Scope.READ_ONLY) -> ApiClient:
    return ApiClient(make_token(organisation, scope=scope)[1])


def portal_csv(user, name: str, query: str) -> bytes:
    browser = Client()
    browser.force_login(user)
    response = browser.get(reverse(f"portal:{name}") + "?" + query)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def streamed(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_the_reports_are_in_the_openapi_document(db):
    document = api.get_openapi_schema(path_prefix="/api/v1/")
    for path in ("/api/v1/reports/activation", "/api/v1/reports/billing", "/api/v1/reports/forecast"):
        operation = document["paths"][path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
        names = {p["name"] for p in operation["parameters"]}
        assert {"msp_id", "sort", "limit", "offset", "format"} <= names
    assert {"start", "end", "product"} <= {
        p["name"] for p in document["paths"]["/api/v1/reports/activation"]["get"]["parameters"]
    }


def test_activation_report_as_json_pages(world):
    t = world.tree
    api_client = client(t.dist_a)
    response = api_client.get(
        "/reports/activation", {"start": "2026-11-01", "end": "2026-11-30", "sort": "-activated", "limit": 2}
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["count"], data["limit"], data["offset"], data["sort"]) == (5, 2, 0, "-activated")
    first = data["items"][0]
    assert first["product_key"] == world.twice.key and first["activated"] == "2026-11-20T12:00:00Z"
    assert first["status"] == "OK" and first["deactivated"] is None and first["key_id"] == world.twice.pk
    rest = api_client.get(
        "/reports/activation",
        {"start": "2026-11-01", "end": "2026-11-30", "sort": "-activated", "offset": 2, "limit": 10},
    ).json()
    assert len(rest["items"]) == 3
    assert [i["product_key"] for i in rest["items"]][-1] == world.all_month.key


def test_activation_report_products_to_include(world):
    api_client = client(world.tree.dist_a)
    november = {"start": "2026-11-01", "end": "2026-11-30"}
    both = api_client.get(
        "/reports/activation?start=2026-11-01&end=2026-11-30&product=imagemanager&product=gre"
    )
    assert [i["product_key"] for i in both.json()["items"]] == [world.image.key]
    spmsp = api_client.get("/reports/activation", {**november, "product": "spmsp"}).json()
    assert spmsp["count"] == 4


def test_activation_report_defaults_to_the_running_month_so_far(world):
    data = client(world.tree.msp_a1).get("/reports/activation").json()
    assert (data["start"], data["end"]) == ("2026-12-01", "2026-12-10")
    assert world.late.key in {i["product_key"] for i in data["items"]}


@pytest.mark.parametrize("how", ["accept", "format"])
def test_activation_csv_is_the_portals_bytes(world, how):
    t = world.tree
    params = {"start": "2026-10-01", "end": "2026-12-10", "sort": "machine_name", "msp_id": t.msp_a1.pk}
    api_client = client(t.dist_a)
    if how == "accept":
        response = api_client.get("/reports/activation", params, headers={"Accept": "text/csv"})
    else:
        response = api_client.get("/reports/activation", {**params, "format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    query = f"start=2026-10-01&end=2026-12-10&sort=machine_name&msp={t.msp_a1.pk}"
    assert streamed(response) == portal_csv(t.dist_a_admin, "reports_activation_csv", query)


def test_billing_report_json_with_totals_and_prices(world, prices):
    t = world.tree
    data = client(t.dist_a).get("/reports/billing", {"month": "2026-11"}).json()
    assert (data["month"], data["status"], data["prices"], data["count"]) == (
        "2026-11",
        "provisional",
        "msp",
        4,
    )
    by_key = {i["product_key"]: i for i in data["items"]}
    server = by_key[world.all_month.key]
    assert (server["unit_price"], server["amount"], server["currency"], server["billable"]) == (
        "25.00",
        "25.00",
        "EUR",
        True,
    )
    assert (server["active_days"], server["final"]) == (30, False)
    short = by_key[world.short.key]
    assert (short["unit_price"], short["amount"], short["billable"]) == (None, None, False)
    assert data["totals"] == [{"currency": "EUR", "amount": "50.00"}, {"currency": "GBP", "amount": "5.25"}]
    own = client(t.dist_a).get("/reports/billing", {"month": "2026-11", "prices": "own"}).json()
    assert {i["product_key"]: i["unit_price"] for i in own["items"]}[world.all_month.key] == "18.00"


def test_billing_csv_is_the_portals_bytes(world, prices):
    t = world.tree
    response = client(t.dist_a).get(
        "/reports/billing", {"month": "2026-11", "prices": "own", "format": "csv"}
    )
    assert streamed(response) == portal_csv(t.dist_a_admin, "reports_billing_csv", "month=2026-11&prices=own")
    head = next(
        csv.reader(io.StringIO(portal_csv(t.dist_a_admin, "reports_billing_csv", "month=2026-11").decode()))
    )
    assert head[0] == "MSP" and head[-1] == "Currency"


def test_billing_defaults_to_the_running_month(world):
    data = client(world.tree.msp_a1).get("/reports/billing").json()
    assert data["month"] == str(Month(2026, 12)) and data["status"] == "provisional"


def test_forecast_lists_keys_turning_billable_soon(world):
    t = world.tree
    data = client(t.msp_a1).get("/reports/forecast").json()
    assert (data["month"], data["today"], data["sort"]) == ("2026-12", "2026-12-10", "billable_on")
    items = {i["product_key"]: i for i in data["items"]}
    assert items[world.late.key]["billable_on"] == "2026-12-22" and items[world.late.key]["active_days"] == 3
    assert all(i["billable"] is False and i["active_now"] is True for i in data["items"])
    response = client(t.msp_a1).get("/reports/forecast", headers={"Accept": "text/csv"})
    assert streamed(response) == portal_csv(t.msp_a1_admin, "reports_soon_csv", "")


def test_forecast_of_one_key(world):
    t = world.tree
    one = client(t.dist_a).get("/reports/forecast", {"key_id": world.december.pk}).json()
    (item,) = one["items"]
    assert (item["product_key"], item["active_days"], item["billable_on"], item["billable"]) == (
        world.december.key,
        10,
        "2026-12-15",
        False,
    )
    assert item["edition"] == "Virtual Machine"
    with time_machine.travel(NOW.replace(day=20), tick=False):
        (later,) = client(t.dist_a).get("/reports/forecast", {"key_id": world.december.pk}).json()["items"]
    assert (later["active_days"], later["billable"], later["billable_on"]) == (20, True, None)
    (unused,) = client(t.dist_a).get("/reports/forecast", {"key_id": world.unused.pk}).json()["items"]
    assert (unused["active_days"], unused["active_now"], unused["activated"]) == (0, False, None)
    response = client(t.dist_a).get("/reports/forecast", {"key_id": world.december.pk, "format": "csv"})
    lines = list(csv.reader(io.StringIO(streamed(response).decode())))
    assert lines[1][1] == world.december.key and lines[1][-2:] == ["10", "2026-12-15"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/reports/activation", {"start": "2026-12-01", "end": "2026-11-01"}, "end"),
        ("/reports/activation", {"start": "2026-11-31"}, "start"),
        ("/reports/activation", {"start": "0001-01-01"}, "start"),
        ("/reports/activation", {"product": "cloud"}, "product"),
        ("/reports/activation", {"sort": "price"}, "sort"),
        ("/reports/activation", {"limit": "0"}, "limit"),
        ("/reports/activation", {"msp_id": "abc"}, "msp_id"),
        ("/reports/billing", {"month": "2027-01"}, "month"),
        ("/reports/billing", {"month": "November"}, "month"),
        ("/reports/billing", {"prices": "sale"}, "prices"),
        ("/reports/billing", {"prices": "cheap"}, "prices"),
        ("/reports/forecast", {"sort": "-nothing"}, "sort"),
        ("/reports/forecast", {"format": "xml"}, "format"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(world, path, params, field):
    response = client(world.tree.dist_a).get(path, params)
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "invalid_field" and response.json()["field"] == field


def test_the_year_limit_of_the_screen_does_not_apply(world):
    response = client(world.tree.dist_a).get(
        "/reports/activation", {"start": "2020-01-01", "end": "2026-12-31"}
    )
    assert response.status_code == 200 and response.json()["count"] == 7


@pytest.mark.parametrize("path", ["/reports/activation", "/reports/billing", "/reports/forecast"])
def test_an_msp_outside_the_subtree_is_a_404_naming_the_field(world, path):
    response = client(world.tree.dist_a).get(path, {"msp_id": world.tree.msp_b1.pk})
    assert response.status_code == 404 and response.json()["field"] == "msp_id"
    response = client(world.tree.msp_a1).get(path, {"msp_id": world.tree.msp_a2.pk})
    assert response.status_code == 404


def test_a_key_of_another_msp_than_msp_id_is_refused(world):
    t = world.tree
    response = client(t.dist_a).get("/reports/forecast", {"key_id": world.image.pk, "msp_id": t.msp_a1.pk})
    assert response.status_code == 422 and response.json()["field"] == "key_id"
    outside = client(t.dist_a).get("/reports/forecast", {"key_id": world.dingo.pk})
    assert outside.status_code == 404 and outside.json()["field"] == "key_id"
