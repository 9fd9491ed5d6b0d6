"""Input the API refuses as a whole: integers a database cannot hold, bodies that are not
JSON objects. Each answers 422 naming what is wrong, and changes nothing."""

import json

import pytest

from keyledger.api.api import api
from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Account, Site

TOO_BIG = 2**63  # one more than a signed 64-bit column holds
LARGEST = 2**63 - 1
LISTS = [
    "/organisations",
    "/accounts",
    "/sites",
    "/keys",
    "/users",
    "/audit-log",
    "/statements",
    "/price-lists",
    "/reports/activation",
    "/reports/billing",
    "/reports/forecast",
]


@pytest.mark.parametrize("path", LISTS)
def test_an_offset_beyond_what_a_database_holds_is_a_422(tree, api_for, path):
    api = api_for(tree.dist_a)
    response = api.get(path, {"offset": TOO_BIG})
    assert response.status_code == 422, response.content
    assert response.json()["field"] == "offset"
    assert api.get(path, {"offset": -1}).status_code == 422
    assert api.get(path, {"limit": TOO_BIG}).status_code == 422


@pytest.mark.parametrize("path", LISTS)
def test_the_largest_offset_is_an_empty_page(tree, api_for, path):
    response = api_for(tree.dist_a).get(path, {"offset": LARGEST})
    assert response.status_code == 200, response.content
    assert response.json()["items"] == []


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/accounts", "msp_id"),
        ("/sites", "account_id"),
        ("/keys", "site_id"),
        ("/users", "organisation_id"),
        ("/audit-log", "organisation_id"),
        ("/organisations", "parent_id"),
        ("/price-lists", "customer_id"),
        ("/reports/forecast", "key_id"),
    ],
)
def test_an_id_filter_beyond_what_a_database_holds_is_a_422(tree, api_for, path, field):
    api = api_for(tree.dist_a)
    for value in [TOO_BIG, 0, -5]:
        response = api.get(path, {field: value})
        assert response.status_code == 422, (value, response.content)
        assert response.json()["field"] == field


@pytest.mark.parametrize(
    "path", ["/organisations/{}", "/accounts/{}", "/sites/{}", "/keys/{}", "/users/{}", "/statements/{}"]
)
def test_an_id_in_the_path_beyond_what_a_database_holds_is_a_422(tree, api_for, path):
    api = api_for(tree.dist_a)
    for value in [TOO_BIG, 0]:
        response = api.get(path.format(value))
        assert response.status_code == 422, (value, response.content)
    assert api.get(path.format(LARGEST)).status_code == 404


def test_an_id_in_a_body_beyond_what_a_database_holds_is_a_422(tree, api_for):
    response = api_for(tree.dist_a).post("/accounts", {"msp_id": TOO_BIG, "name": "Echo Bakery"})
    assert response.status_code == 422
    assert response.json()["field"] == "msp_id"
    assert not Account.objects.filter(name="Echo Bakery").exists()


# Sent as the JSON text of each (the test client would send a bare string as it is).
NOT_OBJECTS = [json.dumps(v) for v in ["x", [None, None], [], 7, True, None]]


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_a_patch_whose_body_is_not_an_object_is_a_422_and_changes_nothing(tree, api_for, body):
    api = api_for(tree.dist_a)
    before = AuditEntry.objects.count()
    for path in [
        f"/accounts/{tree.account_a1.pk}",
        f"/sites/{tree.site_a1.pk}",
    ]:
        response = api.patch(path, body)
        assert response.status_code == 422, (path, response.content)
        assert response.json()["error"] == "invalid_field"
        assert response.json()["detail"] == "The body must be a JSON object."
    assert AuditEntry.objects.count() == before
    assert Account.objects.get(pk=tree.account_a1.pk).name == tree.account_a1.name
    assert Site.objects.get(pk=tree.site_a1.pk).name == tree.site_a1.name


def _operations_with_a_body() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [
        (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        # Call home answers with its own signed refusals (tests/api/test_call_home_edges.py).
        if "requestBody" in operation and not path.endswith("/call-home")
    ]


@pytest.mark.parametrize(("method", "path"), _operations_with_a_body())
@pytest.mark.parametrize("body", [json.dumps("x"), json.dumps([None, None])])
def test_every_operation_with_a_body_refuses_one_that_is_not_an_object(tree, api_for, method, path, body):
    url = path.removeprefix("/api/v1").format(
        organisation_id=tree.dist_a.pk,
        msp_id=tree.msp_a1.pk,
        account_id=tree.account_a1.pk,
        site_id=tree.site_a1.pk,
        key_id=1,
        user_id=tree.dist_a_member.pk,
        price_list_id=1,
    )
    api = api_for(tree.dist_a)
    before = AuditEntry.objects.count()
    response = api.request(method, url, body)
    assert response.status_code == 422, response.content
    assert response.json()["detail"] == "The body must be a JSON object."
    assert AuditEntry.objects.count() == before
