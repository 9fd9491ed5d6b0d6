"""Call-home edge cases (SPEC §7): odd bodies, odd products, odd spellings."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from keyledger.keys.models import KeyEvent, ProductKey
from tests.api.test_call_home import assert_signed, body_for, post
from tests.keys.factories import activated, reload, source

State = ProductKey.State


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("machine", [["FS01"], "FS01", 7, None])
def test_machine_that_is_not_an_object_is_a_bad_request(tree, client, machine):
    (key,) = source(account=tree.account_a1)
    body = body_for(key)
    body["machine"] = machine
    response = post(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["field"] == "machine"
    assert_signed(client, response)
    assert reload(key).state == State.UNUSED


def test_a_huge_body_is_a_signed_bad_request(tree, client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    (key,) = source(account=tree.account_a1)
    response = post(client, body_for(key, os="x" * 20_000))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert_signed(client, response)
    assert reload(key).state == State.UNUSED


def test_a_body_far_larger_than_a_report_is_refused_unparsed(tree, client):
    (key,) = source(account=tree.account_a1)
    response = post(client, body_for(key, padding="x" * 100_000))
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "detail": "The body is too large."}
    assert_signed(client, response)
    assert reload(key).state == State.UNUSED


def test_a_deeply_nested_body_is_a_signed_bad_request(db, client):
    # Within the size limit, deeper than the parser's recursion.
    response = post(client, b'{"machine": ' + b"[" * 20_000 + b"]" * 20_000 + b"}")
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "detail": "The body is nested too deeply."}
    assert_signed(client, response)


@pytest.mark.parametrize(
    "field", ["machine.name", "machine.hardware_id", "machine.software_id", "version", "os"]
)
def test_a_nul_character_is_a_bad_request_naming_the_field(tree, client, field):
    (key,) = source(account=tree.account_a1)
    body = body_for(key)
    target, name = (body["machine"], field.split(".")[1]) if "." in field else (body, field)
    target[name] = "FS\x0001"
    response = post(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request" and response.json()["field"] == field
    assert_signed(client, response)
    assert reload(key).state == State.UNUSED


@pytest.mark.parametrize("code", ["imagemanager", "gre"])
def test_products_without_editions_call_home_without_one(tree, client, code):
    (key,) = source(account=tree.account_a1, code=code)
    body = body_for(key)
    assert "edition" not in body
    response = post(client, body)
    assert response.status_code == 200 and response.json()["status"] == "active"


def test_spelling_variants_of_one_key_share_its_rate_limit(tree, client, settings):
    settings.KEYLEDGER_RATE_LIMIT_PER_KEY = 2
    key = activated(account=tree.account_a1)
    spellings = [key.key, key.key.replace("-", "").lower(), key.key.replace("-", " ")]
    codes = [post(client, body_for(key, key=s)).status_code for s in spellings]
    assert codes == [200, 200, 429]


def test_per_address_limit_ignores_forwarded_for(tree, client, settings):
    settings.KEYLEDGER_RATE_LIMIT_PER_IP = 1
    keys = source(account=tree.account_a1, quantity=2)
    assert post(client, body_for(keys[0]), HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 200
    assert post(client, body_for(keys[1]), HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429


def test_deactivated_key_from_the_bound_machine_writes_no_event(tree, client):
    key = activated(account=tree.account_a1)
    ProductKey.objects.filter(pk=key.pk).update(state=State.DEACTIVATED, critical_due_at=None)
    count = KeyEvent.objects.filter(key=key).count()
    response = post(client, body_for(key))
    assert response.status_code == 200
    assert response.json()["status"] == "deactivated"
    assert response.json()["nonce"] == "nonce-123"
    assert KeyEvent.objects.filter(key=key).count() == count


@pytest.mark.parametrize("field", ["nonce", "machine.name", "os"])
def test_a_lone_surrogate_is_a_bad_request(tree, client, field):
    (key,) = source(account=tree.account_a1)
    body = body_for(key)
    target, name = (body["machine"], field.split(".")[1]) if "." in field else (body, field)
    target[name] = "\ud800"
    response = post(client, json.dumps(body).encode())  # ASCII escapes: valid JSON, not valid text
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert_signed(client, response)
    assert reload(key).state == State.UNUSED


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16", "utf-32"])
@pytest.mark.parametrize("escaped", [True, False])
def test_a_lone_surrogate_in_a_utf16_or_utf32_body_is_a_bad_request(tree, client, encoding, escaped):
    (key,) = source(account=tree.account_a1)
    body = body_for(key)
    body["nonce"] = "\ud800"
    text = json.dumps(body, ensure_ascii=escaped)
    response = post(client, text.encode(encoding, "surrogatepass"))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert reload(key).state == State.UNUSED


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", "TRACE", "BREW"])
def test_every_method_but_post_is_a_signed_405_allowing_post(db, client, method):
    response = client.generic(method, "/api/v1/call-home")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "application/json"
    if method != "HEAD":
        assert_signed(client, response)
        assert response.json() == {"error": "bad_request", "detail": "Call home with POST."}
    else:
        assert response["Keyledger-Signature"].startswith("ed25519=")


def test_a_job_count_written_as_a_whole_float_is_that_count(tree, client):
    # JSON (and the document's "integer") does not tell 2 from 2.0.
    (key,) = source(account=tree.account_a1, code="imagemanager", fields={"shadowstream": 2, "headstart": 1})
    assert post(client, body_for(key, jobs_in_use={"shadowstream": 2.0})).status_code == 200
    assert reload(key).jobs_in_use == {"shadowstream": 2}
    for count in [1.5, 2**63, 1e300]:
        response = post(client, body_for(key, jobs_in_use={"shadowstream": count}))
        assert response.status_code == 400, count
        assert response.json()["field"] == "jobs_in_use.shadowstream"
