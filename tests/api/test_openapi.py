import json
import re

from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from keyledger.api.api import api
from keyledger.keys import keyformat


def test_the_openapi_document_is_served_and_lists_the_operations(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Keyledger API"
    operations = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    assert {
        ("GET", "/api/v1/organisations"),
        ("GET", "/api/v1/organisations/{organisation_id}"),
        ("POST", "/api/v1/organisations/{organisation_id}/msps"),
        ("POST", "/api/v1/organisations/{organisation_id}/invitations"),
        ("POST", "/api/v1/organisations/{msp_id}/portal-access"),
        ("DELETE", "/api/v1/organisations/{msp_id}/portal-access"),
        ("GET", "/api/v1/accounts"),
        ("POST", "/api/v1/accounts"),
        ("GET", "/api/v1/accounts/{account_id}"),
        ("PATCH", "/api/v1/accounts/{account_id}"),
        ("GET", "/api/v1/sites"),
        ("POST", "/api/v1/sites"),
        ("GET", "/api/v1/sites/{site_id}"),
        ("PATCH", "/api/v1/sites/{site_id}"),
        ("GET", "/api/v1/products"),
        ("GET", "/api/v1/keys"),
        ("POST", "/api/v1/keys"),
        ("GET", "/api/v1/keys/{key_id}"),
        ("POST", "/api/v1/keys/{key_id}/move"),
        ("POST", "/api/v1/keys/{key_id}/deactivate"),
        ("POST", "/api/v1/keys/{key_id}/reactivate"),
        ("POST", "/api/v1/keys/{key_id}/withdraw"),
        ("POST", "/api/v1/organisations/{organisation_id}/distributors"),
        ("PUT", "/api/v1/organisations/{organisation_id}/agreement"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/users/{user_id}"),
        ("POST", "/api/v1/organisations/{organisation_id}/users"),
        ("PUT", "/api/v1/users/{user_id}/role"),
        ("POST", "/api/v1/users/{user_id}/deactivate"),
        ("POST", "/api/v1/users/{user_id}/reactivate"),
        ("GET", "/api/v1/audit-log"),
        ("POST", "/api/v1/call-home"),
    } <= operations
    assert document["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    source = document["paths"]["/api/v1/keys"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in source["parameters"]}
    assert {"201", "401", "403", "404", "409", "422"} <= set(source["responses"])
    error = document["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"error", "detail", "field"}


def test_every_status_is_documented_once(db):
    # Strict readers (Swagger UI among them) refuse a JSON object with a repeated key.
    repeated = []

    def refuse_repeats(pairs):
        keys = [k for k, _ in pairs]
        repeated.extend(k for k in set(keys) if keys.count(k) > 1)
        return dict(pairs)

    json.loads(Client().get("/api/v1/openapi.json").content, object_pairs_hook=refuse_repeats)
    assert not repeated
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    assert all(
        isinstance(status, str)
        for methods in schema["paths"].values()
        for op in methods.values()
        for status in op["responses"]
    )


def _document() -> dict:
    return Client().get("/api/v1/openapi.json").json()


def _string(schema: dict) -> dict:
    """The string branch of an optional field's schema (anyOf string, null)."""
    return next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "string"), schema)


def test_the_document_states_the_text_rules_the_api_enforces(db):
    schemas = _document()["components"]["schemas"]
    invite = schemas["InviteUserIn"]["properties"]
    assert invite["email"]["format"] == "email"
    assert (invite["email"]["minLength"], invite["email"]["maxLength"]) == (3, 254)
    assert invite["full_name"]["maxLength"] == 200
    account = schemas["AccountIn"]["properties"]
    assert (account["name"]["minLength"], account["name"]["maxLength"]) == (1, 200)
    # Every text field of every request body refuses NUL characters, and says so.
    for name, schema in schemas.items():
        if not name.endswith(("In", "Patch")) or name == "CallHomeIn":
            continue
        for field, prop in schema["properties"].items():
            text = _string(prop)
            if text.get("type") == "string" and "enum" not in text:
                assert text.get("pattern"), (name, field)
                assert re.fullmatch(text["pattern"], "a\x00b") is None, (name, field)


def test_the_document_states_integer_bounds(db):
    document = _document()
    for path, methods in document["paths"].items():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                integer = next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "integer"), None)
                if integer is not None:
                    assert "minimum" in integer and integer["maximum"] <= 2**63 - 1, (path, parameter["name"])
    offset = next(p for p in document["paths"]["/api/v1/keys"]["get"]["parameters"] if p["name"] == "offset")
    assert (offset["schema"]["minimum"], offset["schema"]["maximum"]) == (0, 2**63 - 1)


def test_the_document_states_the_product_key_pattern(db):
    call_home = _document()["paths"]["/api/v1/call-home"]["post"]
    key = call_home["requestBody"]["content"]["application/json"]["schema"]["properties"]["key"]
    pattern = key["pattern"]
    printed = keyformat.generate()
    for spelling in [printed, printed.lower(), printed.replace("-", ""), printed.replace("-", " ")]:
        assert re.fullmatch(pattern, spelling), spelling
    for wrong in [printed[:-1], printed + "A", printed.replace(printed[0], "U", 1), printed + "\x00"]:
        assert not re.fullmatch(pattern, wrong), wrong


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcz- \t!", max_size=40))
def test_the_key_pattern_says_what_call_home_reads_as_a_key(text):
    """A text the pattern allows is refused, if at all, only for its check symbol."""
    from keyledger.api.schemas.common import KEY_PATTERN

    try:
        keyformat.normalise(text)
    except keyformat.KeyFormatError as exc:
        matches = re.fullmatch(KEY_PATTERN, text) is not None
        assert matches == (exc.reason == keyformat.KeyFormatError.Reason.CHECK)
    else:
        assert re.fullmatch(KEY_PATTERN, text)


def test_the_report_sorts_are_stated(db):
    parameters = _document()["paths"]["/api/v1/reports/activation"]["get"]["parameters"]
    sort = _string(next(p for p in parameters if p["name"] == "sort")["schema"])
    assert re.fullmatch(sort["pattern"], "-activated")
    assert not re.fullmatch(sort["pattern"], "nonsense")


def test_the_report_date_pattern_takes_the_years_the_reports_take():
    from keyledger.api.schemas.reports import DATE_PATTERN
    from keyledger.reports.inputs import FIRST_YEAR, LAST_YEAR

    for year in range(1000, 10000):
        assert bool(re.fullmatch(DATE_PATTERN, f"{year}-01-31")) == (FIRST_YEAR <= year <= LAST_YEAR), year
