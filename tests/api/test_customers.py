import pytest

from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Account, Site


def test_list_accounts_of_the_subtree(tree, api_for, django_assert_max_num_queries):
    for i in range(10):
        Account.objects.create(msp=tree.msp_a2, name=f"Extra {i}")
    api = api_for(tree.dist_a)
    with django_assert_max_num_queries(4):
        response = api.get("/accounts")
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 13
    assert "Delta Freight" not in {a["name"] for a in body["items"]}
    assert body["items"][0]["msp_name"] == "Acme IT"


def test_list_accounts_by_msp_and_name(tree, api_for):
    api = api_for(tree.dist_a)
    assert [a["name"] for a in api.get("/accounts", {"msp_id": tree.msp_a2.pk}).json()["items"]] == [
        "Bravo Legal"
    ]
    assert [a["name"] for a in api.get("/accounts", {"name": "char"}).json()["items"]] == ["Charlie Farms"]


def test_get_an_account(tree, api_for):
    response = api_for(tree.msp_a1).get(f"/accounts/{tree.account_a1.pk}")
    assert response.status_code == 200
    assert response.json()["name"] == "Alpha Dental"
    assert response.json()["msp_id"] == tree.msp_a1.pk


def test_add_account(tree, api_for):
    response = api_for(tree.msp_a1).post(
        "/accounts", {"msp_id": tree.msp_a1.pk, "name": "Echo Bakery", "address": "1 High St", "notes": "VIP"}
    )
    assert response.status_code == 201
    account = Account.objects.get(pk=response.json()["id"])
    assert (account.msp, account.name, account.address, account.notes) == (
        tree.msp_a1,
        "Echo Bakery",
        "1 High St",
        "VIP",
    )
    assert AuditEntry.objects.filter(action="account.create", object_id=str(account.pk)).exists()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "Echo"}, 422, "msp_id"),
        ({"msp_id": "x", "name": "Echo"}, 422, "msp_id"),
        ({"msp_id": None, "name": ""}, 422, "msp_id"),
        ("MSP", 400, None),
        ({"msp_id": "{distributor}", "name": "Echo"}, 404, "msp_id"),
    ],
)
def test_add_account_with_bad_input(tree, api_for, body, status, field):
    if isinstance(body, dict):
        body = {k: tree.dist_a.pk if v == "{distributor}" else v for k, v in body.items()}
    before = Account.objects.count()
    response = api_for(tree.dist_a).post("/accounts", body)
    assert response.status_code == status, response.json()
    assert response.json()["field"] == field
    assert Account.objects.count() == before


def test_add_account_needs_a_name_unique_within_the_msp(tree, api_for):
    api = api_for(tree.dist_a)
    blank = api.post("/accounts", {"msp_id": tree.msp_a1.pk, "name": " "})
    assert (blank.status_code, blank.json()["field"]) == (422, "name")
    taken = api.post("/accounts", {"msp_id": tree.msp_a1.pk, "name": "alpha dental"})
    assert (taken.status_code, taken.json()["field"]) == (422, "name")
    assert "already has an account" in taken.json()["detail"]
    # Another MSP may use the name.
    assert api.post("/accounts", {"msp_id": tree.msp_a2.pk, "name": "Alpha Dental"}).status_code == 201


def test_a_body_that_is_not_json_is_a_bad_request(tree, api_for):
    api = api_for(tree.dist_a)
    response = api.client.post(
        "/api/v1/accounts",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_change_an_account_changes_only_the_fields_sent(tree, api_for):
    tree.account_a1.notes = "Keep me"
    tree.account_a1.save(update_fields=["notes"])
    response = api_for(tree.msp_a1).patch(f"/accounts/{tree.account_a1.pk}", {"address": "2 Low Rd"})
    assert response.status_code == 200
    tree.account_a1.refresh_from_db()
    assert (tree.account_a1.name, tree.account_a1.address, tree.account_a1.notes) == (
        "Alpha Dental",
        "2 Low Rd",
        "Keep me",
    )
    entry = AuditEntry.objects.get(action="account.update")
    assert entry.changes == {"address": ["", "2 Low Rd"]}


def test_change_an_account_to_a_taken_name_writes_nothing(tree, api_for):
    Account.objects.create(msp=tree.msp_a1, name="Echo Bakery")
    response = api_for(tree.msp_a1).patch(
        f"/accounts/{tree.account_a1.pk}", {"name": "ECHO bakery", "notes": "n"}
    )
    assert (response.status_code, response.json()["field"]) == (422, "name")
    tree.account_a1.refresh_from_db()
    assert (tree.account_a1.name, tree.account_a1.notes) == ("Alpha Dental", "")


def test_list_sites(tree, api_for, django_assert_max_num_queries):
    api = api_for(tree.dist_a)
    with django_assert_max_num_queries(4):
        response = api.get("/sites")
    assert {s["name"] for s in response.json()["items"]} == {
        "Alpha Dental Main Street",
        "Bravo Legal Harbour",
    }
    by_account = api.get("/sites", {"account_id": tree.account_a2.pk}).json()["items"]
    assert [s["name"] for s in by_account] == ["Bravo Legal Harbour"]
    by_msp = api.get("/sites", {"msp_id": tree.msp_a1.pk}).json()["items"]
    assert [s["name"] for s in by_msp] == ["Alpha Dental Main Street"]


def test_get_a_site(tree, api_for):
    body = api_for(tree.msp_a1).get(f"/sites/{tree.site_a1.pk}").json()
    assert (body["name"], body["account_id"], body["account_name"], body["msp_id"]) == (
        "Alpha Dental Main Street",
        tree.account_a1.pk,
        "Alpha Dental",
        tree.msp_a1.pk,
    )


def test_add_site(tree, api_for):
    response = api_for(tree.msp_a1).post(
        "/sites", {"account_id": tree.account_a1.pk, "name": "Alpha Dental Annex"}
    )
    assert response.status_code == 201
    assert Site.objects.get(pk=response.json()["id"]).account == tree.account_a1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "Annex"}, 422, "account_id"),
        ({"account_id": 999999, "name": "Annex"}, 404, "account_id"),
        ({"account_id": "ACCOUNT", "name": "Annex"}, 422, "account_id"),
        ({"account_id": "{account}", "name": ""}, 422, "name"),
        ({"account_id": "{account}", "name": "alpha dental main street"}, 422, "name"),
    ],
)
def test_add_site_with_bad_input(tree, api_for, body, status, field):
    body = {k: tree.account_a1.pk if v == "{account}" else v for k, v in body.items()}
    response = api_for(tree.msp_a1).post("/sites", body)
    assert response.status_code == status
    assert response.json()["field"] == field
    assert Site.objects.filter(account=tree.account_a1).count() == 1


def test_move_a_site_to_another_account_of_its_msp(tree, api_for):
    other = Account.objects.create(msp=tree.msp_a1, name="Echo Bakery")
    response = api_for(tree.msp_a1).patch(
        f"/sites/{tree.site_a1.pk}", {"account_id": other.pk, "notes": "moved"}
    )
    assert response.status_code == 200
    assert response.json()["account_id"] == other.pk
    tree.site_a1.refresh_from_db()
    assert (tree.site_a1.account, tree.site_a1.notes, tree.site_a1.name) == (
        other,
        "moved",
        "Alpha Dental Main Street",
    )
    assert AuditEntry.objects.filter(action="site.move").exists()


def test_a_site_cannot_move_to_another_msp(tree, api_for):
    response = api_for(tree.dist_a).patch(
        f"/sites/{tree.site_a1.pk}", {"account_id": tree.account_a2.pk, "name": "New"}
    )
    assert (response.status_code, response.json()["field"]) == (422, "account_id")
    tree.site_a1.refresh_from_db()
    assert (tree.site_a1.account, tree.site_a1.name) == (tree.account_a1, "Alpha Dental Main Street")


def test_moving_a_site_moves_its_keys(tree, api_for):
    from tests.keys.factories import source

    keys = source(account=tree.account_a1, site=tree.site_a1, quantity=2)
    other = Account.objects.create(msp=tree.msp_a1, name="Echo Bakery")
    api = api_for(tree.msp_a1)
    assert api.patch(f"/sites/{tree.site_a1.pk}", {"account_id": other.pk}).status_code == 200
    listed = api.get("/keys", {"site_id": tree.site_a1.pk}).json()["items"]
    assert {(k["id"], k["account_id"]) for k in listed} == {(k.pk, other.pk) for k in keys}
