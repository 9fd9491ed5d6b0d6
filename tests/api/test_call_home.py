"""The call-home protocol, version 1, rule by rule (SPEC §7), through HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.cache import cache
from django.test import Client

from keyledger.keys import actions, keyformat
from keyledger.keys.models import KeyEvent, ProductKey
from tests.keys.factories import MACHINE, OTHER_MACHINE, activated, reload, replayed_state, source

URL = "/api/v1/call-home"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
State = ProductKey.State


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def product_client() -> Client:
    # A product is not a browser: CSRF checks on must not matter.
    return Client(enforce_csrf_checks=True)


def body_for(target: ProductKey | str, /, *, machine: Any = MACHINE, **overrides: Any) -> dict[str, Any]:
    text = target if isinstance(target, str) else target.key
    code = "spmsp" if isinstance(target, str) else target.product.code
    body: dict[str, Any] = {
        "key": text,
        "machine": dict(machine) if isinstance(machine, dict) else machine,
        "product": code,
        "version": "5.2.7",
        "os": "Windows Server 2019",
        "nonce": "nonce-123",
    }
    if code == "spmsp":
        body["edition"] = "server"
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def post(client: Client, body: Any, **extra: Any):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **extra)


def public_key(client: Client) -> Ed25519PublicKey:
    data = client.get("/api/v1/signing-key").json()
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"]))


def assert_signed(client: Client, response) -> None:
    scheme, _, signature = response["Keyledger-Signature"].partition("=")
    assert scheme == "ed25519"
    # Raises InvalidSignature when the body bytes are not the signed ones.
    public_key(client).verify(base64.b64decode(signature), response.content)


def events(key: ProductKey) -> list[tuple[str, str, str]]:
    return list(
        KeyEvent.objects.filter(key=key).order_by("id").values_list("old_state", "new_state", "cause")
    )


# --- activation and the answer -------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_first_call_home_activates_and_binds_the_machine(tree, product_client):
    (key,) = source(account=tree.account_a1)
    response = post(product_client, body_for(key))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "key": key.key,
        "status": "active",
        "lease_expires_at": "2026-12-31T10:00:00Z",
        "next_call_home_after": 86400,
        "server_time": "2026-12-01T10:00:00Z",
        "nonce": "nonce-123",
    }
    key = reload(key)
    assert key.state == State.OK
    assert (key.machine_name, key.machine_hardware_id, key.machine_software_id) == (
        "FS01",
        "HW-0001",
        "SW-0001",
    )
    assert (key.edition, key.version, key.os) == ("server", "5.2.7", "Windows Server 2019")
    assert key.activated_at == NOW and key.last_call_home_at == NOW
    assert key.critical_due_at == NOW + timedelta(hours=72)
    assert events(key) == [("", "unused", "user"), ("unused", "ok", "call_home")]
    event = KeyEvent.objects.filter(key=key).last()
    assert (event.machine_name, event.edition, event.msp_id, event.account_id) == (
        "FS01",
        "server",
        tree.msp_a1.pk,
        tree.account_a1.pk,
    )
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_key_is_accepted_as_people_type_it(tree, product_client):
    (key,) = source(account=tree.account_a1)
    typed = key.key.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    response = post(product_client, body_for(key, key=typed))
    assert response.status_code == 200
    assert response.json()["key"] == key.key


def test_next_call_home_after_comes_from_the_settings(tree, product_client, settings):
    settings.KEYLEDGER_CALL_HOME_INTERVAL_SECONDS = 3600
    (key,) = source(account=tree.account_a1)
    assert post(product_client, body_for(key)).json()["next_call_home_after"] == 3600


def test_lease_is_renewed_on_every_call(tree, product_client):
    (key,) = source(account=tree.account_a1)
    with time_machine.travel(NOW, tick=False):
        post(product_client, body_for(key))
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        answer = post(product_client, body_for(key)).json()
    assert answer["lease_expires_at"] == "2027-01-02T10:00:00Z"
    assert answer["server_time"] == "2026-12-03T10:00:00Z"


def test_repeating_a_call_changes_nothing_and_writes_no_event(tree, product_client):
    (key,) = source(account=tree.account_a1)
    post(product_client, body_for(key))
    before = events(key)
    for _ in range(3):
        response = post(product_client, body_for(key, version="5.2.8"))
        assert response.status_code == 200 and response.json()["status"] == "active"
    assert events(key) == before
    assert reload(key).version == "5.2.8"


def test_unknown_fields_are_ignored(tree, product_client):
    (key,) = source(account=tree.account_a1)
    body = body_for(key, future_field={"x": 1}, machine={**MACHINE, "serial": "S1"})
    assert post(product_client, body).status_code == 200


# --- one key, one machine ------------------------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [
        {"name": "RENAMED"},
        {"hardware_id": "NEW-HW"},
        {"software_id": "NEW-SW"},
        {"name": "RENAMED", "hardware_id": "NEW-HW"},
        {"hardware_id": "NEW-HW", "software_id": "NEW-SW"},
        {"name": "RENAMED", "software_id": "NEW-SW"},
    ],
)
def test_same_machine_unless_all_three_identifiers_differ(tree, product_client, changed):
    key = activated(account=tree.account_a1)
    response = post(product_client, body_for(key, machine={**MACHINE, **changed}))
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert reload(key).machine_hardware_id == "HW-0001"


@pytest.mark.parametrize("state", [State.OK, State.CRITICAL, State.DEACTIVATION_REQUESTED])
def test_another_machine_gets_key_in_use_while_the_key_is_active(tree, product_client, state):
    key = activated(account=tree.account_a1)
    ProductKey.objects.filter(pk=key.pk).update(state=state)
    before = events(key)
    response = post(product_client, body_for(key, machine=OTHER_MACHINE))
    assert response.status_code == 409
    assert response.json()["error"] == "key_in_use"
    assert reload(key).state == state
    assert reload(key).machine_name == "FS01"
    assert events(key) == before
    assert_signed(product_client, response)


def test_after_deactivation_and_reactivation_the_next_machine_binds(tree, product_client):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=tree_actor(tree))
    assert post(product_client, body_for(key)).json()["status"] == "deactivated"
    actions.request_reactivation(key=key, actor=tree_actor(tree))
    response = post(product_client, body_for(key, machine=OTHER_MACHINE))
    assert response.status_code == 200 and response.json()["status"] == "active"
    key = reload(key)
    assert key.state == State.OK and key.machine_name == "FS02"
    # The first machine is now the other one.
    assert post(product_client, body_for(key)).status_code == 409
    assert replayed_state(key) == State.OK


def tree_actor(tree):
    from keyledger.audit.actor import Actor

    return Actor(user=tree.msp_a1_admin)


# --- pending requests become final here ----------------------------------------------------


def test_pending_deactivation_becomes_final_and_the_answer_says_so(tree, product_client):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=tree_actor(tree))
    assert reload(key).state == State.DEACTIVATION_REQUESTED
    response = post(product_client, body_for(key))
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "deactivated"
    assert answer["lease_expires_at"] is None
    assert reload(key).state == State.DEACTIVATED
    assert events(key)[-1] == ("deactivation_requested", "deactivated", "call_home")
    # A deactivated key keeps answering "deactivated", from any machine, with no new event.
    count = len(events(key))
    for machine in (MACHINE, OTHER_MACHINE):
        response = post(product_client, body_for(key, machine=machine))
        assert response.status_code == 200 and response.json()["status"] == "deactivated"
    assert len(events(key)) == count


def test_pending_reactivation_becomes_final(tree, product_client):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=tree_actor(tree))
    post(product_client, body_for(key))
    actions.request_reactivation(key=key, actor=tree_actor(tree))
    assert reload(key).state == State.REACTIVATION_REQUESTED
    response = post(product_client, body_for(key))
    assert response.json()["status"] == "active"
    assert reload(key).state == State.OK
    assert events(key)[-1] == ("reactivation_requested", "ok", "call_home")


def test_a_critical_key_calling_home_is_ok_again(tree, product_client):
    key = activated(account=tree.account_a1)
    ProductKey.objects.filter(pk=key.pk).update(state=State.CRITICAL, critical_due_at=None)
    KeyEvent.objects.create(
        key=key, old_state="ok", new_state="critical", cause="sweeper", msp=key.msp, account=key.account
    )
    response = post(product_client, body_for(key))
    assert response.json()["status"] == "active"
    key = reload(key)
    assert key.state == State.OK and key.critical_due_at is not None
    assert events(key)[-1] == ("critical", "ok", "call_home")
    assert replayed_state(key) == State.OK


def test_an_edition_change_is_recorded_for_billing(tree, product_client):
    key = activated(account=tree.account_a1)
    response = post(product_client, body_for(key, edition="vm"))
    assert response.status_code == 200
    event = KeyEvent.objects.filter(key=key).last()
    assert (event.old_state, event.new_state, event.edition) == ("ok", "ok", "vm")
    assert reload(key).edition == "vm"


# --- refusals -----------------------------------------------------------------------------


def test_body_that_is_not_json_is_a_bad_request(db, product_client):
    response = post(product_client, b"{not json")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert_signed(product_client, response)


def test_body_that_is_not_an_object_is_a_bad_request(db, product_client):
    response = post(product_client, [1, 2])
    assert response.status_code == 400 and response.json()["error"] == "bad_request"


@pytest.mark.parametrize(
    ("drop", "field"),
    [
        ("key", "key"),
        ("product", "product"),
        ("nonce", "nonce"),
        ("machine", "machine"),
        ("machine.name", "machine.name"),
        ("machine.hardware_id", "machine.hardware_id"),
        ("machine.software_id", "machine.software_id"),
    ],
)
def test_missing_field_is_a_bad_request_naming_it(tree, product_client, drop, field):
    (key,) = source(account=tree.account_a1)
    body = body_for(key)
    if drop.startswith("machine."):
        del body["machine"][drop.removeprefix("machine.")]
    else:
        del body[drop]
    response = post(product_client, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "bad_request"
    assert answer["field"] == field
    assert field in answer["detail"]
    assert reload(key).state == State.UNUSED


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"key": 12345}, "key"),
        ({"machine": "FS01"}, "machine"),
        ({"machine": {**MACHINE, "hardware_id": ""}}, "machine.hardware_id"),
        ({"jobs_in_use": {"shadowstream": -1}}, "jobs_in_use.shadowstream"),
        ({"jobs_in_use": {"shadowstream": "2"}}, "jobs_in_use.shadowstream"),
        ({"edition": 3}, "edition"),
    ],
)
def test_wrong_types_are_bad_requests(tree, product_client, overrides, field):
    (key,) = source(account=tree.account_a1)
    response = post(product_client, body_for(key, **overrides))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["field"] == field


def _with_bad_check(key: str) -> str:
    symbols = key.replace("-", "")
    wrong = next(c for c in keyformat.ALPHABET if c != symbols[-1])
    return keyformat.format_key(symbols[:-1] + wrong)


@pytest.mark.parametrize(
    ("mangle", "detail"),
    [
        (lambda k: k[:-1], "length"),
        (lambda k: k + "7", "length"),
        (lambda k: k * 5, "length"),
        (lambda k: "U" + k[1:], "symbol"),
        (lambda k: "*" + k[1:], "symbol"),
        (_with_bad_check, "check"),
    ],
)
def test_malformed_key_is_told_apart_from_an_unknown_one(tree, product_client, mangle, detail):
    (key,) = source(account=tree.account_a1)
    response = post(product_client, body_for(key, key=mangle(key.key)))
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "invalid_key_format"
    assert answer["detail"] == detail
    assert_signed(product_client, response)


def test_well_formed_key_that_does_not_exist_is_unknown(db, product_client):
    response = post(product_client, body_for(keyformat.generate()))
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_key"
    assert_signed(product_client, response)


def test_key_of_another_product_is_wrong_product(tree, product_client):
    (key,) = source(account=tree.account_a1, code="imagemanager")
    response = post(product_client, body_for(key, product="spmsp", edition="server"))
    assert response.status_code == 422
    assert response.json()["error"] == "wrong_product"
    assert reload(key).state == State.UNUSED


@pytest.mark.parametrize("edition", [None, "enterprise"])
def test_spmsp_must_report_one_of_its_editions(tree, product_client, edition):
    (key,) = source(account=tree.account_a1)
    body = body_for(key)
    body.pop("edition")
    if edition is not None:
        body["edition"] = edition
    response = post(product_client, body)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_field"
    assert response.json()["field"] == "edition"
    assert reload(key).state == State.UNUSED


def test_imagemanager_reports_jobs_within_what_the_key_holds(tree, product_client):
    (key,) = source(account=tree.account_a1, code="imagemanager", fields={"shadowstream": 2, "headstart": 1})
    ok = post(product_client, body_for(key, jobs_in_use={"shadowstream": 2, "headstart": 0}))
    assert ok.status_code == 200
    assert reload(key).jobs_in_use == {"shadowstream": 2, "headstart": 0}
    for jobs, field in [
        ({"shadowstream": 3}, "jobs_in_use.shadowstream"),
        ({"intelligentftp": 1}, "jobs_in_use.intelligentftp"),
        ({"backups": 1}, "jobs_in_use.backups"),
    ]:
        response = post(product_client, body_for(key, jobs_in_use=jobs))
        assert response.status_code == 422, jobs
        assert response.json() | {"detail": None} == {
            "error": "invalid_field",
            "field": field,
            "detail": None,
            "nonce": "nonce-123",
        }
    assert reload(key).jobs_in_use == {"shadowstream": 2, "headstart": 0}


def test_gre_calls_home_without_edition(tree, product_client):
    (key,) = source(account=tree.account_a1, code="gre")
    response = post(product_client, body_for(key))
    assert response.status_code == 200 and response.json()["status"] == "active"


def test_too_many_calls_for_one_key_are_rate_limited(tree, product_client, settings):
    settings.KEYLEDGER_RATE_LIMIT_PER_KEY = 2
    (key,) = source(account=tree.account_a1)
    (other,) = source(account=tree.account_a1)
    with time_machine.travel(NOW + timedelta(seconds=15), tick=False):
        assert [post(product_client, body_for(key)).status_code for _ in range(2)] == [200, 200]
        limited = post(product_client, body_for(key))
        assert post(product_client, body_for(other)).status_code == 200
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert limited["Retry-After"] == "45"
    assert_signed(product_client, limited)
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        assert post(product_client, body_for(key)).status_code == 200


def test_too_many_calls_from_one_address_are_rate_limited(tree, product_client, settings):
    settings.KEYLEDGER_RATE_LIMIT_PER_IP = 3
    keys = source(account=tree.account_a1, quantity=4)
    codes = [post(product_client, body_for(k)).status_code for k in keys]
    assert codes == [200, 200, 200, 429]
    assert int(product_client.post(URL, data="{}", content_type="application/json")["Retry-After"]) >= 1
    # Another address is counted apart.
    assert post(product_client, body_for(keys[3]), REMOTE_ADDR="198.51.100.9").status_code == 200


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_only_post_is_allowed_and_the_refusal_is_signed(db, product_client, method):
    response = getattr(product_client, method)(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"] == "bad_request"
    assert response["Keyledger-Signature"].startswith("ed25519=")


# --- signatures, cost, documentation -------------------------------------------------------


def test_every_kind_of_answer_verifies_with_the_published_key(tree, product_client):
    key = activated(account=tree.account_a1)
    answers = [
        post(product_client, body_for(key)),
        post(product_client, body_for(key, machine=OTHER_MACHINE)),
        post(product_client, body_for(key, edition="nope")),
        post(product_client, body_for(key, product="gre")),
        post(product_client, body_for(keyformat.generate())),
        post(product_client, body_for("ABC")),
        post(product_client, b"nope"),
    ]
    assert [a.status_code for a in answers] == [200, 409, 422, 422, 404, 400, 400]
    for answer in answers:
        assert_signed(product_client, answer)
    # A changed byte breaks the signature.
    tampered = answers[0]
    tampered.content = tampered.content.replace(b"active", b"Active")
    with pytest.raises(InvalidSignature):
        assert_signed(product_client, tampered)


@time_machine.travel(NOW, tick=False)
def test_a_steady_state_call_home_is_one_update(tree, product_client, django_assert_max_num_queries):
    key = activated(account=tree.account_a1)
    body = body_for(key, version="5.3.0", jobs_in_use={})
    post(product_client, body)  # warm the signing key
    with (
        time_machine.travel(NOW + timedelta(hours=1), tick=False),
        django_assert_max_num_queries(1) as queries,
    ):
        response = post(product_client, body)
    # On PostgreSQL the UPDATE is prepared once per connection (by the first call) and run by name.
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert sql.startswith(("UPDATE", "EXECUTE keyledger_call_home_"))
    assert response.status_code == 200
    key = reload(key)
    assert key.last_call_home_at == NOW + timedelta(hours=1)
    assert key.critical_due_at == NOW + timedelta(hours=73)
    assert key.version == "5.3.0"


def test_call_home_is_documented_in_openapi(db, client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/call-home"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(request["required"]) >= {"key", "machine", "product", "nonce"}
    assert set(request["properties"]["machine"]["required"]) == {"name", "hardware_id", "software_id"}
    assert {"200", "400", "404", "409", "422", "429"} <= set(operation["responses"])
    assert "Keyledger-Signature" in operation["responses"]["200"]["headers"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(ok["properties"]) == {
        "key",
        "status",
        "lease_expires_at",
        "next_call_home_after",
        "server_time",
        "nonce",
    }
    assert "/api/v1/signing-key" in schema["paths"]
    assert "$defs" not in json.dumps(operation)
