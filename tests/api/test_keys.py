from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from keyledger.audit.models import AuditEntry
from keyledger.keys.models import KeyEvent, ProductKey, SourcingRequest
from tests.keys.factories import activated, reload, source

State = ProductKey.State
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GRE_FIELDS = {"exchange_server_name": "EX01", "exchange_server_version": "2019"}


def test_the_catalog(tree, api_for):
    response = api_for(tree.msp_a1, scope="read-only").get("/products")
    assert response.status_code == 200
    products = {p["code"]: p for p in response.json()}
    assert set(products) == {"spmsp", "imagemanager", "gre"}
    assert products["spmsp"]["can_deactivate"] is True
    assert products["gre"]["max_quantity"] == 1
    assert {f["name"] for f in products["gre"]["key_fields"]} == set(GRE_FIELDS)


def test_list_keys_with_filters(tree, api_for, django_assert_max_num_queries):
    source(account=tree.account_a1, quantity=3, site=tree.site_a1)
    source(account=tree.account_a1, code="gre")
    source(account=tree.account_a2, quantity=2)
    source(account=tree.account_b1)
    api = api_for(tree.dist_a)
    with django_assert_max_num_queries(4):
        everything = api.get("/keys").json()
    assert everything["count"] == 6
    assert {k["msp_id"] for k in everything["items"]} == {tree.msp_a1.pk, tree.msp_a2.pk}

    def count(**params):
        response = api.get("/keys", params)
        assert response.status_code == 200, response.json()
        return response.json()["count"]

    assert count(msp_id=tree.msp_a2.pk) == 2
    assert count(account_id=tree.account_a1.pk) == 4
    assert count(site_id=tree.site_a1.pk) == 3
    assert count(product="gre") == 1
    assert count(account_id=tree.account_a1.pk, product="spmsp") == 3
    assert count(state="unused") == 6
    assert count(state="ok") == 0
    page = api.get("/keys", {"limit": 2, "offset": 4}).json()
    assert (len(page["items"]), page["count"]) == (2, 6)


def test_find_a_key_by_its_text_typed_any_way(tree, api_for):
    (key,) = source(account=tree.account_a1)
    api = api_for(tree.msp_a1)
    typed = key.key.replace("-", " ").lower().replace("0", "o")
    assert [k["key"] for k in api.get("/keys", {"key": typed}).json()["items"]] == [key.key]
    mistyped = key.key[:-1] + ("0" if key.key[-1] != "0" else "1")
    response = api.get("/keys", {"key": mistyped})
    assert (response.status_code, response.json()["error"], response.json()["field"]) == (
        422,
        "invalid_key_format",
        "key",
    )


def test_the_state_listed_is_the_state_as_of_now(tree, api_for):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
    api = api_for(tree.msp_a1)
    with time_machine.travel(NOW + timedelta(hours=71), tick=False):
        assert [k["state"] for k in api.get("/keys", {"state": "ok"}).json()["items"]] == ["ok"]
    with time_machine.travel(key.critical_due_at, tick=False):  # exactly 72 h: not longer yet
        assert [k["state"] for k in api.get("/keys", {"state": "ok"}).json()["items"]] == ["ok"]
        assert api.get("/keys", {"state": "critical"}).json()["count"] == 0
    with time_machine.travel(NOW + timedelta(hours=73), tick=False):
        assert api.get("/keys", {"state": "ok"}).json()["count"] == 0
        items = api.get("/keys", {"state": "critical"}).json()["items"]
        assert [(k["id"], k["state"], k["status"]) for k in items] == [(key.pk, "critical", "Critical")]


def test_get_a_key_with_its_history(tree, api_for, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
    api = api_for(tree.msp_a1)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        api.post(f"/keys/{key.pk}/deactivate")
        with django_assert_max_num_queries(4):
            response = api.get(f"/keys/{key.pk}")
    body = response.json()
    assert response.status_code == 200
    assert body["key"] == key.key and body["product"] == "spmsp"
    assert body["state"] == "deactivation_requested"
    assert body["status"] == "Deactivation requested \u2013 still active"
    assert body["machine"] == {"name": "FS01", "hardware_id": "HW-0001", "software_id": "SW-0001"}
    assert body["edition"] == "server"
    assert [(e["old_state"], e["new_state"], e["cause"]) for e in body["events"]] == [
        ("", "unused", "user"),
        ("unused", "ok", "call_home"),
        ("ok", "deactivation_requested", "api"),
    ]
    assert body["events"][2]["actor"] == "msp-a1@example.test"
    assert body["events"][2]["via_api_token"] is True


def test_add_keys(tree, api_for):
    api = api_for(tree.msp_a1)
    response = api.post("/keys", {"product": "spmsp", "quantity": 3, "site_id": tree.site_a1.pk})
    assert response.status_code == 201
    items = response.json()["items"]
    assert len(items) == 3
    assert {(k["account_id"], k["site_id"], k["state"]) for k in items} == {
        (tree.account_a1.pk, tree.site_a1.pk, "unused")
    }
    keys = ProductKey.objects.filter(pk__in=[k["id"] for k in items])
    assert keys.count() == 3
    assert set(KeyEvent.objects.filter(key__in=keys).values_list("cause", flat=True)) == {"api"}
    assert AuditEntry.objects.get(action="key.source").channel == "api"


def test_add_keys_with_the_products_own_fields(tree, api_for):
    api = api_for(tree.msp_a1)
    gre = api.post("/keys", {"product": "gre", "account_id": tree.account_a1.pk, "fields": GRE_FIELDS})
    assert gre.status_code == 201
    assert gre.json()["items"][0]["fields"] == GRE_FIELDS
    im = api.post(
        "/keys", {"product": "imagemanager", "account_id": tree.account_a1.pk, "fields": {"shadowstream": 5}}
    )
    assert im.json()["items"][0]["fields"] == {"intelligentftp": 0, "shadowstream": 5, "headstart": 0}


def test_an_idempotency_key_sources_once(tree, api_for):
    api = api_for(tree.msp_a1)
    body = {"product": "spmsp", "quantity": 2, "account_id": tree.account_a1.pk}
    first = api.post("/keys", body, headers={"Idempotency-Key": "order-1001"})
    again = api.post("/keys", body, headers={"Idempotency-Key": "order-1001"})
    assert first.status_code == again.status_code == 201
    assert [k["key"] for k in first.json()["items"]] == [k["key"] for k in again.json()["items"]]
    assert ProductKey.objects.count() == 2
    assert SourcingRequest.objects.get().idempotency_key == "order-1001"
    other = api.post("/keys", {**body, "quantity": 3}, headers={"Idempotency-Key": "order-1001"})
    assert (other.status_code, other.json()["error"]) == (409, "idempotency_key_reused")
    assert (
        api.post("/keys", body, headers={"Idempotency-Key": "x" * 201}).json()["field"] == "Idempotency-Key"
    )
    assert ProductKey.objects.count() == 2
    # Without one, each request sources new keys.
    api.post("/keys", body)
    api.post("/keys", body)
    assert ProductKey.objects.count() == 6


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"product": "gre", "quantity": 2, "fields": GRE_FIELDS}, 422, "quantity"),
        ({"product": "spmsp", "quantity": 11}, 422, "quantity"),
        ({"product": "spmsp", "quantity": "many"}, 422, "quantity"),
        (
            {"product": "gre", "fields": {"exchange_server_name": "EX01"}},
            422,
            "fields.exchange_server_version",
        ),
        ({"product": "imagemanager", "fields": {"shadowstream": 151}}, 422, "fields.shadowstream"),
        ({"product": "spmsp", "fields": {"colour": "blue"}}, 422, "fields.colour"),
        ({"product": "cloudbackup"}, 422, "product"),
        ({"quantity": 1}, 422, "product"),
        ({"product": "spmsp", "account_id": None}, 422, "account_id"),
        ({"product": "spmsp", "site_id": "{other site}"}, 422, "site_id"),
        ({"product": "spmsp", "account_id": 999999}, 404, "account_id"),
    ],
)
def test_add_keys_with_bad_input_names_the_field_and_sources_nothing(tree, api_for, body, status, field):
    body = {"account_id": tree.account_a1.pk, **body}
    if body.get("site_id") == "{other site}":
        body["site_id"] = tree.site_a2.pk
        api = api_for(tree.dist_a)
    else:
        api = api_for(tree.msp_a1)
    response = api.post("/keys", body)
    assert response.status_code == status, response.json()
    assert response.json()["field"] == field
    assert not ProductKey.objects.exists()
    assert not SourcingRequest.objects.exists()


def test_move_a_key(tree, api_for):
    (key,) = source(account=tree.account_a1)
    api = api_for(tree.msp_a1)
    response = api.post(f"/keys/{key.pk}/move", {"site_id": tree.site_a1.pk})
    assert response.status_code == 200
    assert (response.json()["account_id"], response.json()["site_id"]) == (
        tree.account_a1.pk,
        tree.site_a1.pk,
    )
    back = api.post(f"/keys/{key.pk}/move", {"account_id": tree.account_a1.pk})
    assert back.json()["site_id"] is None
    assert AuditEntry.objects.filter(action="key.move").count() == 2


def test_a_key_cannot_move_to_another_msp(tree, api_for):
    (key,) = source(account=tree.account_a1)
    response = api_for(tree.dist_a).post(f"/keys/{key.pk}/move", {"account_id": tree.account_a2.pk})
    assert (response.status_code, response.json()["field"]) == (422, "account_id")
    assert reload(key).account == tree.account_a1
    mismatch = api_for(tree.dist_a).post(
        f"/keys/{key.pk}/move", {"account_id": tree.account_a1.pk, "site_id": tree.site_a2.pk}
    )
    assert (mismatch.status_code, mismatch.json()["field"]) == (422, "site_id")


def test_deactivate_reactivate_and_withdraw(tree, api_for):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
    api = api_for(tree.msp_a1)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert api.post(f"/keys/{key.pk}/deactivate").json()["state"] == "deactivation_requested"
        # Reactivate on a pending deactivation withdraws it.
        assert api.post(f"/keys/{key.pk}/reactivate").json()["state"] == "ok"
        assert api.post(f"/keys/{key.pk}/deactivate").json()["state"] == "deactivation_requested"
        assert api.post(f"/keys/{key.pk}/withdraw").json()["state"] == "ok"
        nothing = api.post(f"/keys/{key.pk}/withdraw")
    assert nothing.status_code == 409
    assert reload(key).state == State.OK
    actions = list(AuditEntry.objects.filter(channel="api").order_by("id").values_list("action", flat=True))
    assert actions == [
        "key.request_deactivation",
        "key.withdraw_request",
        "key.request_deactivation",
        "key.withdraw_request",
    ]


def test_keys_that_cannot_be_deactivated_answer_409(tree, api_for):
    (unused,) = source(account=tree.account_a1)
    (gre,) = source(account=tree.account_a1, code="gre")
    api = api_for(tree.msp_a1)
    for key in (unused, gre):
        response = api.post(f"/keys/{key.pk}/deactivate")
        assert response.status_code == 409
        assert reload(key).state == State.UNUSED
    assert api.post(f"/keys/{gre.pk}/reactivate").status_code == 409


def test_the_history_names_people_above_the_token_by_their_organisation(tree, api_for):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
        assert api_for(tree.dist_a).post(f"/keys/{key.pk}/deactivate").status_code == 200
        events = api_for(tree.msp_a1).get(f"/keys/{key.pk}").json()["events"]
        assert events[-1]["actor"] == "Northwind Distribution"
        assert "dist-a@example.test" not in str(events)
        assert (
            api_for(tree.dist_a).get(f"/keys/{key.pk}").json()["events"][-1]["actor"] == "dist-a@example.test"
        )
