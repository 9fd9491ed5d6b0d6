"""The price list API: list and get for those who see a list, create and add prices for its
issuer; every bad input a 422 naming the field in the API's error format, writing nothing."""

from datetime import UTC, datetime

import pytest
import time_machine

from keyledger.api.models import ApiToken
from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.billing.models import Price, PriceList, Statement
from keyledger.billing.months import Month
from keyledger.billing.price_lists import add_price, create_price_list
from keyledger.testing.tree import Kind, make_org

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
NOVEMBER = Month(2026, 11)


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def lists(tree):
    actor = Actor(user=tree.dist_a_admin)
    acme = create_price_list(issuer=tree.dist_a, customer=tree.msp_a1, currency="EUR", actor=actor)
    add_price(price_list=acme, product="spmsp", item="server", month=Month(2026, 9), price="20", actor=actor)
    add_price(price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="25", actor=actor)
    add_price(
        price_list=acme,
        product="imagemanager",
        item="shadowstream",
        month=Month(2027, 1),
        price="1.5",
        actor=actor,
    )
    northwind = create_price_list(
        issuer=tree.vendor, customer=tree.dist_a, currency="EUR", actor=Actor(user=tree.vendor_admin)
    )
    return {"acme": acme, "northwind": northwind}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# ---------------------------------------------------------------- reading


def test_each_organisation_lists_what_it_sees(tree, api_for, lists):
    acme, northwind = lists["acme"], lists["northwind"]
    assert ids(api_for(tree.vendor).get("/price-lists")) == [northwind.pk, acme.pk]
    assert ids(api_for(tree.dist_a).get("/price-lists")) == [northwind.pk, acme.pk]
    assert ids(api_for(tree.msp_a1).get("/price-lists")) == [acme.pk]
    assert ids(api_for(tree.msp_a2).get("/price-lists")) == []
    assert ids(api_for(tree.dist_b).get("/price-lists")) == []


def test_a_listed_price_list(tree, api_for, lists):
    body = api_for(tree.vendor).get("/price-lists", {"customer_id": tree.msp_a1.pk}).json()
    assert body["count"] == 1 and body["limit"] == 50 and body["offset"] == 0
    assert body["items"][0] == {
        "id": lists["acme"].pk,
        "issuer_id": tree.dist_a.pk,
        "issuer_name": "Northwind Distribution",
        "customer_id": tree.msp_a1.pk,
        "customer_name": "Acme IT",
        "currency": "EUR",
        "items_priced": 2,
        "created_at": "2026-11-20T10:00:00Z",
    }


def test_the_organisation_above_the_token_is_not_named_on_its_own_list(tree, api_for, lists):
    (own,) = api_for(tree.msp_a1).get("/price-lists").json()["items"]
    assert own["issuer_id"] is None and own["issuer_name"] is None
    detail = api_for(tree.msp_a1).get(f"/price-lists/{lists['acme'].pk}")
    assert detail.json()["issuer_id"] is None and "Northwind" not in detail.text
    cost = api_for(tree.dist_a).get(f"/price-lists/{lists['northwind'].pk}").json()
    assert cost["issuer_id"] is None and cost["customer_name"] == "Northwind Distribution"


def test_the_list_is_paginated_with_the_same_queries_for_any_number(
    tree, api_for, django_assert_max_num_queries
):
    actor = Actor(user=tree.dist_a_admin)
    for n in range(12):
        msp = make_org(parent=tree.dist_a, kind=Kind.MSP, name=f"MSP {n:02}")
        price_list = create_price_list(issuer=tree.dist_a, customer=msp, currency="EUR", actor=actor)
        add_price(price_list=price_list, product="gre", item="", month=NOVEMBER, price="4", actor=actor)
    api = api_for(tree.dist_a)
    with django_assert_max_num_queries(6):
        body = api.get("/price-lists", {"limit": 5, "offset": 10}).json()
    assert body["count"] == 12 and [i["customer_name"] for i in body["items"]] == ["MSP 10", "MSP 11"]


def test_a_price_list_with_its_prices_in_a_month_and_its_history(tree, api_for, lists):
    body = api_for(tree.msp_a1).get(f"/price-lists/{lists['acme'].pk}").json()
    assert body["month"] == "2026-11" and body["currency"] == "EUR" and body["items_priced"] == 2
    current = {(row["product"], row["item"]): row for row in body["current"]}
    assert len(current) == 8  # every item of the catalog
    assert current[("spmsp", "server")] == {
        "product": "spmsp",
        "product_name": "ShadowProtect for Managed Service Providers (SP-MSP)",
        "item": "server",
        "item_label": "Server",
        "pricing": "edition",
        "price": "25.00",
        "since": "2026-11",
        "next_price": None,
        "next_month": None,
    }
    stream = current[("imagemanager", "shadowstream")]
    assert (stream["pricing"], stream["price"], stream["next_price"], stream["next_month"]) == (
        "license",
        None,
        "1.50",
        "2027-01",
    )
    assert current[("gre", "")]["pricing"] == "key" and current[("gre", "")]["price"] is None
    history = [(p["product"], p["item"], p["month"], p["price"], p["status"]) for p in body["history"]]
    assert history == [
        ("spmsp", "server", "2026-11", "25.00", "current"),
        ("spmsp", "server", "2026-09", "20.00", "replaced"),
        ("imagemanager", "shadowstream", "2027-01", "1.50", "scheduled"),
    ]
    october = api_for(tree.msp_a1).get(f"/price-lists/{lists['acme'].pk}", {"month": "2026-10"}).json()
    server = next(r for r in october["current"] if r["item"] == "server")
    assert (server["price"], server["since"], server["next_price"]) == ("20.00", "2026-09", "25.00")


@pytest.mark.parametrize("month", ["2026-13", "November", "2026-1", "0000-01"])
def test_a_bad_month_to_show_is_a_field_error(tree, api_for, lists, month):
    response = api_for(tree.dist_a).get(f"/price-lists/{lists['acme'].pk}", {"month": month})
    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid_field",
        "detail": "Enter a month as YYYY-MM, e.g. 2026-11.",
        "field": "month",
    }


def test_outsiders_get_404(tree, api_for, lists):
    for org in (tree.msp_a2, tree.dist_b, tree.msp_b1):
        assert api_for(org).get(f"/price-lists/{lists['acme'].pk}").status_code == 404
    # An MSP does not see what its distributor pays.
    response = api_for(tree.msp_a1).get(f"/price-lists/{lists['northwind'].pk}")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert api_for(tree.msp_a1).get("/price-lists", {"customer_id": tree.dist_a.pk}).status_code == 404


# ---------------------------------------------------------------- writing


def test_the_issuer_creates_a_list_and_adds_prices(tree, api_for, lists):
    api = api_for(tree.dist_a)
    response = api.post("/price-lists", {"customer_id": tree.msp_a2.pk, "currency": "USD"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["customer_name"] == "Bluebird Managed" and created["currency"] == "USD"
    assert created["issuer_id"] == tree.dist_a.pk and created["items_priced"] == 0
    response = api.post(
        f"/price-lists/{created['id']}/prices",
        {"product": "spmsp", "item": "server", "month": "2026-12", "price": "30.5"},
    )
    assert response.status_code == 201, response.content
    assert response.json() | {"id": 0, "created_at": ""} == {
        "id": 0,
        "product": "spmsp",
        "product_name": "ShadowProtect for Managed Service Providers (SP-MSP)",
        "item": "server",
        "item_label": "Server",
        "month": "2026-12",
        "price": "30.50",
        "currency": "USD",
        "created_at": "",
    }
    gre = api.post(
        f"/price-lists/{created['id']}/prices", {"product": "gre", "month": "2026-12", "price": "4"}
    )
    assert gre.status_code == 201 and gre.json()["item"] == ""
    entries = AuditEntry.objects.filter(action__in=["price_list.create", "price.add"]).order_by("-pk")[:3]
    assert {(e.action, e.channel, e.actor_label[:10]) for e in entries} == {
        ("price_list.create", "api", "API token "),
        ("price.add", "api", "API token "),
    }


def test_vendor_staff_create_a_distributors_list(tree, api_for):
    response = api_for(tree.vendor).post("/price-lists", {"customer_id": tree.dist_b.pk, "currency": "AUD"})
    assert response.status_code == 201 and response.json()["currency"] == "AUD"


def writes_nothing(call):
    before = (PriceList.objects.count(), Price.objects.count(), AuditEntry.objects.count())
    response = call()
    assert (PriceList.objects.count(), Price.objects.count(), AuditEntry.objects.count()) == before
    return response


@pytest.mark.parametrize(
    ("body", "status", "field", "detail"),
    [
        ({"currency": "XXX"}, 422, "currency", "Enter an ISO 4217 currency code, e.g. EUR, USD or AUD."),
        ({"currency": "eur"}, 422, "currency", "Enter an ISO 4217 currency code, e.g. EUR, USD or AUD."),
        ({"currency": "EURO"}, 422, "currency", "Enter an ISO 4217 currency code, e.g. EUR, USD or AUD."),
        ({"currency": 978}, 422, "currency", "Input should be a valid string"),
        (
            {"customer_id": "MSP1"},
            422,
            "customer_id",
            "Acme IT already has a price list in EUR; add its prices there.",
        ),
        (
            {"customer_id": "DIST"},
            422,
            "customer_id",
            "Northwind Distribution is not directly below Northwind",
        ),
        ({"customer_id": "OUTSIDE"}, 404, "customer_id", "No such organisation."),
        ({"customer_id": None}, 422, "customer_id", "Input should be a valid integer"),
    ],
)
def test_a_bad_new_list_is_refused(tree, api_for, lists, body, status, field, detail):
    named = {"MSP1": tree.msp_a1.pk, "DIST": tree.dist_a.pk, "OUTSIDE": tree.msp_b1.pk}
    body = {"customer_id": tree.msp_a2.pk, "currency": "EUR", **body}
    body["customer_id"] = named.get(body["customer_id"], body["customer_id"])
    api = api_for(tree.dist_a)
    response = writes_nothing(lambda: api.post("/price-lists", body))
    assert response.status_code == status
    error = response.json()
    assert error["field"] == field and error["detail"].startswith(detail)
    assert error["error"] == ("invalid_field" if status == 422 else "not_found")


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"price": "12.345"}, "price", "EUR prices have at most 2 decimals."),
        ({"price": "-5"}, "price", "A price cannot be negative."),
        ({"price": "five"}, "price", 'Enter a price as a decimal string, e.g. "12.50".'),
        ({"price": "1,000"}, "price", 'Enter a price as a decimal string, e.g. "12.50".'),
        ({"price": "\u0661\u0662"}, "price", 'Enter a price as a decimal string, e.g. "12.50".'),
        ({"price": 12.5}, "price", "Input should be a valid string"),
        ({"price": "99999999999"}, "price", "This price is too large."),
        ({"product": "nope"}, "product", "No such product"),
        ({"product": "spmsp\x00"}, "product", "Null characters are not allowed."),
        (
            {"item": "shadowstream"},
            "item",
            "ShadowProtect for Managed Service Providers (SP-MSP) has no item",
        ),
        ({"item": ""}, "item", "Choose an edition of"),
        ({"item": "x" * 33}, "item", "String should have at most 32 characters"),
        ({"month": "2026-13"}, "month", "Enter a month as YYYY-MM, e.g. 2026-11."),
        ({"month": "2026-11"}, "month", "ShadowProtect Server already has a price from November 2026"),
        (
            {"month": "2026-10"},
            "month",
            "October 2026 is final for Acme IT; a correction goes on a later statement.",
        ),
    ],
)
def test_a_bad_price_is_refused(tree, api_for, lists, body, field, detail):
    Statement.objects.create(
        issuer=tree.dist_a,
        customer=tree.msp_a1,
        month=Month(2026, 10).first_day,
        status=Statement.Status.FINAL,
        number="NW-1",
        finalised_at=NOW,
    )
    body = {"product": "spmsp", "item": "server", "month": "2026-12", "price": "30", **body}
    url = f"/price-lists/{lists['acme'].pk}/prices"
    api = api_for(tree.dist_a)
    response = writes_nothing(lambda: api.post(url, body))
    assert response.status_code == 422, response.content
    error = response.json()
    assert (error["error"], error["field"]) == ("invalid_field", field)
    assert error["detail"].startswith(detail), error["detail"]


def test_only_the_issuer_changes_a_list(tree, api_for, lists):
    body = {"product": "gre", "month": "2026-12", "price": "4"}
    clients = {org: api_for(org) for org in ("vendor", "dist_a", "msp_a1") for org in [getattr(tree, org)]}
    read_only = api_for(tree.dist_a, scope=ApiToken.Scope.READ_ONLY)
    acme, northwind = (
        f"/price-lists/{lists['acme'].pk}/prices",
        f"/price-lists/{lists['northwind'].pk}/prices",
    )
    # Those who see a list but do not issue it: 403.
    for org, url in [(tree.vendor, acme), (tree.msp_a1, acme), (tree.dist_a, northwind)]:
        response = writes_nothing(lambda org=org, url=url: clients[org].post(url, body))
        assert response.status_code == 403 and response.json()["error"] == "forbidden"
    # A read-only token changes nothing.
    response = writes_nothing(lambda: read_only.post(acme, body))
    assert response.status_code == 403 and response.json()["error"] == "read_only_token"
    # An MSP has no one below it to issue a list to.
    own = {"customer_id": tree.msp_a1.pk, "currency": "EUR"}
    response = writes_nothing(lambda: clients[tree.msp_a1].post("/price-lists", own))
    assert response.status_code == 422 and response.json()["field"] == "customer_id"


def test_the_schema_states_the_constraints(db):
    from django.test import Client

    document = Client().get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    price_in, list_in = schemas["PriceIn"]["properties"], schemas["PriceListIn"]["properties"]
    assert price_in["month"]["pattern"] == "^[0-9]{4}-(0[1-9]|1[0-2])$"
    assert price_in["price"]["pattern"] == r"^[0-9]+(\.[0-9]+)?$"
    assert price_in["item"]["maxLength"] == 32 and price_in["product"]["maxLength"] == 32
    assert list_in["currency"]["pattern"] == "^[A-Z]{3}$"
    assert set(schemas["PriceIn"]["required"]) == {"product", "month", "price"}
    operations = {(m.upper(), p) for p, ms in document["paths"].items() for m in ms}
    assert {
        ("GET", "/api/v1/price-lists"),
        ("POST", "/api/v1/price-lists"),
        ("GET", "/api/v1/price-lists/{price_list_id}"),
        ("POST", "/api/v1/price-lists/{price_list_id}/prices"),
    } <= operations
    month = next(
        p
        for p in document["paths"]["/api/v1/price-lists/{price_list_id}"]["get"]["parameters"]
        if p["name"] == "month"
    )
    text = next(s for s in month["schema"].get("anyOf", [month["schema"]]) if s.get("type") == "string")
    assert text["pattern"] == "^[0-9]{4}-(0[1-9]|1[0-2])$"
