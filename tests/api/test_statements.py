"""Statements in the API: list (filters, pagination), get (lines, totals, the issuer's margin;
CSV with Accept: text/csv or ?format=csv), and Finalise."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from keyledger.api.api import api
from keyledger.api.models import ApiToken
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements import close_month, verify
from keyledger.testing.billing import NOVEMBER, november


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 12, 2, 10, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def closed(tree):
    world = november(tree)
    close_month(month=NOVEMBER)
    return world


def of(customer):
    return Statement.objects.get(customer=customer, month=NOVEMBER.first_day)


def test_a_distributor_lists_what_it_issues_and_receives(tree, closed, api_for):
    client = api_for(tree.dist_a)
    body = client.get("/statements").json()
    assert body["count"] == 3 and body["limit"] == 50 and body["offset"] == 0
    by_customer = {s["customer_name"]: s for s in body["items"]}
    assert set(by_customer) == {"Acme IT", "Bluebird Managed", "Northwind Distribution"}
    acme = by_customer["Acme IT"]
    assert (acme["issuer_id"], acme["issuer_name"], acme["status"], acme["number"]) == (
        tree.dist_a.pk,
        "Northwind Distribution",
        "draft",
        None,
    )
    assert (
        acme["month"],
        acme["totals"],
        acme["key_count"],
        acme["billable_count"],
        acme["unpriced_count"],
    ) == (
        "2026-11",
        {"EUR": "74.00"},
        5,
        4,
        1,
    )
    # What the vendor bills Northwind: its issuer is above the token, so not named.
    own = by_customer["Northwind Distribution"]
    assert (own["issuer_id"], own["issuer_name"], own["totals"]) == (None, None, {"EUR": "72.00"})
    issued = client.get("/statements", {"issued": "by_you"}).json()["items"]
    assert {s["customer_name"] for s in issued} == {"Acme IT", "Bluebird Managed"}
    received = client.get("/statements", {"issued": "to_you"}).json()["items"]
    assert [s["customer_name"] for s in received] == ["Northwind Distribution"]
    assert client.get("/statements", {"status": "final"}).json()["count"] == 0
    assert client.get("/statements", {"month": "2026-10"}).json()["count"] == 0
    page = client.get("/statements", {"limit": 1, "offset": 1}).json()
    assert (page["count"], len(page["items"])) == (3, 1)


def test_an_msp_sees_its_own_without_its_distributors_name(tree, closed, api_for):
    (acme,) = api_for(tree.msp_a1).get("/statements").json()["items"]
    assert (acme["customer_name"], acme["issuer_id"], acme["issuer_name"]) == ("Acme IT", None, None)
    detail = api_for(tree.msp_a1).get(f"/statements/{acme['id']}")
    assert detail.status_code == 200
    assert "Northwind" not in detail.content.decode()
    assert detail.json()["margin"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [({"month": "2026-13"}, "month"), ({"status": "paid"}, "status"), ({"issued": "x"}, "issued")],
)
def test_bad_filters_are_field_errors(tree, closed, api_for, query, field):
    response = api_for(tree.dist_a).get("/statements", query)
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["field"]) == ("invalid_field", field)


def test_a_statement_with_its_lines_totals_and_the_issuers_margin(tree, closed, api_for):
    body = api_for(tree.dist_a).get(f"/statements/{of(tree.msp_a1).pk}").json()
    assert body["totals"] == {"EUR": "74.00"}
    assert [
        (line["product"], line["item"], line["quantity"], line["unit_price"], line["amount"])
        for line in body["lines"]
    ] == [
        ("spmsp", "server", 1, "25.00", "25.00"),
        ("spmsp", "vm", 1, None, None),
        ("imagemanager", "shadowstream", 5, "1.50", "7.50"),
        ("imagemanager", "headstart", 2, "0.75", "1.50"),
        ("gre", "", 1, "40.00", "40.00"),
    ]
    assert body["lines"][0]["kind"] == "charge" and body["lines"][0]["corrects"] is None
    assert body["margin"] == [{"currency": "EUR", "charged": "74.00", "cost": "54.00", "margin": "20.00"}]


@pytest.mark.parametrize(("query", "headers"), [({"format": "csv"}, {}), ({}, {"Accept": "text/csv"})])
def test_a_statement_as_csv_is_the_portals_file(tree, closed, api_for, client_for, query, headers):
    statement = of(tree.msp_a1)
    response = api_for(tree.msp_a1).get(f"/statements/{statement.pk}", query, headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    portal = client_for(tree.msp_a1_admin).get(
        reverse("portal:statement_csv", kwargs={"statement_id": statement.pk})
    )
    assert b"".join(response.streaming_content) == b"".join(portal.streaming_content)
    assert (
        api_for(tree.msp_a1).get(f"/statements/{statement.pk}", {"format": "json"}).json()["id"]
        == statement.pk
    )


def test_the_issuer_finalises(tree, closed, api_for):
    statement = of(tree.msp_a1)
    client = api_for(tree.dist_a)
    response = client.post(f"/statements/{statement.pk}/finalise")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["number"]) == ("final", "ND-2026-11-0001")
    assert body["content_sha256"] == of(tree.msp_a1).content_sha256 and verify(of(tree.msp_a1))
    assert body["finalised_by"].startswith("API token kl_")
    again = client.post(f"/statements/{statement.pk}/finalise").json()
    assert (again["number"], again["content_sha256"]) == (body["number"], body["content_sha256"])
    # The customer reads it, without who finalised it (someone above it).
    seen = api_for(tree.msp_a1).get(f"/statements/{statement.pk}").json()
    assert (seen["number"], seen["finalised_by"]) == ("ND-2026-11-0001", None)


def test_only_the_issuer_finalises_and_only_with_a_write_token(tree, closed, api_for):
    statement = of(tree.msp_a1)
    url = f"/statements/{statement.pk}/finalise"
    read_only = api_for(tree.dist_a, scope=ApiToken.Scope.READ_ONLY).post(url)
    assert (read_only.status_code, read_only.json()["error"]) == (403, "read_only_token")
    customer = api_for(tree.msp_a1).post(url)
    assert (customer.status_code, customer.json()["error"]) == (403, "forbidden")
    above = api_for(tree.vendor).post(url)
    assert above.status_code == 403
    assert api_for(tree.dist_b).post(url).status_code == 404
    assert of(tree.msp_a1).status == "draft"


def test_a_month_that_has_not_ended_is_a_conflict(tree, closed, api_for):
    running = Statement.objects.create(
        issuer=tree.dist_a, customer=tree.msp_a2, month=Month(2026, 12).first_day
    )
    response = api_for(tree.dist_a).post(f"/statements/{running.pk}/finalise")
    assert response.status_code == 409
    assert response.json()["error"] == "month_not_ended"


def test_the_openapi_document_describes_the_statements():
    document = api.get_openapi_schema(path_prefix="/api/v1/")
    paths = document["paths"]
    assert {
        "/api/v1/statements",
        "/api/v1/statements/{statement_id}",
        "/api/v1/statements/{statement_id}/finalise",
    } <= set(paths)
    content = paths["/api/v1/statements/{statement_id}"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert "StatementDetailOut" in document["components"]["schemas"]
