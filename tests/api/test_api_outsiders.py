"""The API outsider matrix: every operation of the API, tried with an outsider's token.

Operations are read from the API's own OpenAPI document, so a new endpoint is tried
without anyone having to remember it. A path, query or body argument that names an
object (`*_id`) must be listed in OBJECT_PARAMS; an unknown one fails
test_every_object_argument_is_known. Each argument is tried in turn with the victim's
object while the others hold the outsider's own, so that "my site, moved into your
account" is tried as well as "your site".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from keyledger.api.api import api
from keyledger.api.models import ApiToken
from keyledger.audit.actor import Actor
from keyledger.keys.actions import source_keys
from keyledger.keys.models import Product, ProductKey
from keyledger.testing.tree import Tree
from tests.access.test_outsiders import draft_statement, price_list
from tests.api.conftest import ApiClient, make_token

# Public by design: the products' call-home protocol and the key that verifies its answers.
PUBLIC = {("POST", "/api/v1/call-home"), ("GET", "/api/v1/signing-key")}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Argument name → which object fills it.
OBJECT_PARAMS: dict[str, str] = {
    "organisation_id": "organisation",
    "parent_id": "organisation",
    "msp_id": "msp",
    "account_id": "account",
    "site_id": "site",
    "key_id": "key",
    "user_id": "user",
    "statement_id": "statement",
    "price_list_id": "price_list",
    "customer_id": "organisation",
}
# Required body fields that name no object, and a valid value for each.
BODY_VALUES: dict[str, Any] = {
    "product": "spmsp",
    "email": "outsider@example.test",
    "currency": "EUR",
    "month": "2026-11",
    "price": "12.50",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # "/api/v1/keys/{key_id}"
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    body: dict | None  # the JSON schema of the body

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def object_params(self) -> list[tuple[str, str]]:
        """(where, name) of every argument that names an object."""
        found = [("path", p) for p in self.path_params]
        found += [("query", q) for q in self.query_params if q in OBJECT_PARAMS or q.endswith("_id")]
        found += [("body", b) for b in (self.body or {}).get("properties", {}) if b.endswith("_id")]
        return found


def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _resolve_properties(schema: dict, document: dict) -> dict:
    properties = {name: _resolve(prop, document) for name, prop in schema.get("properties", {}).items()}
    return {**schema, "properties": properties}


def operations() -> list[Operation]:
    document = api.get_openapi_schema(path_prefix="/api/v1/")
    found = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    query_params=tuple(p["name"] for p in params if p["in"] == "query"),
                    body=_resolve_properties(_resolve(body, document), document) if body else None,
                )
            )
    return found


def private_operations() -> list[Operation]:
    return [op for op in operations() if (op.method, op.path) not in PUBLIC]


def _dummy(schema: dict) -> Any:
    if "anyOf" in schema:
        return _dummy(next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    return {"string": "Outsider test", "integer": 1, "boolean": False, "object": {}, "array": []}[
        schema.get("type", "string")
    ]


def request_for(op: Operation, objects: dict[str, Any], victim: tuple[str, str] | None = None, bad=None):
    """The URL, query and body of `op` with `objects` (and the victim's object in `victim`)."""

    def value(where: str, name: str) -> int:
        source = bad if (where, name) == victim else objects
        return source[OBJECT_PARAMS[name]].pk

    url = op.path
    for name in op.path_params:
        url = url.replace("{" + name + "}", str(value("path", name)))
    query = {name: value("query", name) for name in op.query_params if ("query", name) == victim}
    body = None
    if op.body is not None:
        body = {}
        for name, schema in op.body.get("properties", {}).items():
            if name in OBJECT_PARAMS:
                body[name] = value("body", name)
            elif name in op.body.get("required", []):
                body[name] = BODY_VALUES.get(name.rsplit("_", 1)[-1], _dummy(schema))
    return url, query, body


def call(client: ApiClient, op: Operation, url: str, query: dict, body: dict | None):
    if op.method == "GET":
        return client.get(url, query)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return client.request(op.method, url, body)


# ---------------------------------------------------------------- the tree and its keys


def _key(account, site=None) -> ProductKey:
    (key,) = source_keys(
        product=Product.objects.get(code="spmsp"),
        quantity=1,
        account=account,
        site=site,
        fields={},
        actor=Actor.system(),
    )
    return key


@pytest.fixture
def world(tree: Tree) -> dict[str, Any]:
    keys = {
        "a1": _key(tree.account_a1, tree.site_a1),
        "a2": _key(tree.account_a2, tree.site_a2),
        "a3": _key(tree.account_a3),
        "b1": _key(tree.account_b1, tree.site_b1),
    }
    t = tree
    statement = {
        org: draft_statement(org) for org in (t.msp_a1, t.msp_a2, t.msp_a3, t.msp_b1, t.dist_a, t.dist_b)
    }
    prices = {org: price_list(org) for org in (t.msp_a1, t.msp_a2, t.msp_a3, t.msp_b1, t.dist_a, t.dist_b)}
    own_dist_a = {
        "organisation": t.dist_a,
        "msp": t.msp_a1,
        "account": t.account_a1,
        "site": t.site_a1,
        "key": keys["a1"],
        "user": t.msp_a1_member,
        "statement": statement[t.msp_a1],
        "price_list": prices[t.msp_a1],
    }
    own_msp_a1 = {**own_dist_a, "organisation": t.msp_a1}
    own_dist_b = {
        "organisation": t.dist_b,
        "msp": t.msp_b1,
        "account": t.account_b1,
        "site": t.site_b1,
        "key": keys["b1"],
        "user": t.msp_b1_admin,
        "statement": statement[t.msp_b1],
        "price_list": prices[t.msp_b1],
    }
    return {
        "tree": tree,
        "keys": keys,
        "own_dist_a": own_dist_a,
        # Scenario → (the outsider's organisation, its own objects, the victim's objects, names only the victim's data shows).
        "scenarios": {
            "sibling distributor": (
                t.dist_a,
                own_dist_a,
                {
                    "organisation": t.dist_b,
                    "msp": t.msp_b1,
                    "account": t.account_b1,
                    "site": t.site_b1,
                    "key": keys["b1"],
                    "user": t.dist_b_admin,
                    "statement": statement[t.dist_b],
                    "price_list": prices[t.dist_b],
                },
                ["Southgate Supply", "Dingo Networks", "Delta Freight", keys["b1"].key, "dist-b@", "msp-b1@"],
            ),
            "sibling MSP": (
                t.msp_a1,
                own_msp_a1,
                {
                    "organisation": t.msp_a2,
                    "msp": t.msp_a2,
                    "account": t.account_a2,
                    "site": t.site_a2,
                    "key": keys["a2"],
                    "user": t.msp_a2_admin,
                    "statement": statement[t.msp_a2],
                    "price_list": prices[t.msp_a2],
                },
                ["Bluebird Managed", "Bravo Legal", keys["a2"].key, "msp-a2@"],
            ),
            "MSP reaching up to its distributor": (
                t.msp_a1,
                own_msp_a1,
                {
                    "organisation": t.dist_a,
                    "msp": t.msp_a3,
                    "account": t.account_a3,
                    "site": t.site_a2,
                    "key": keys["a3"],
                    "user": t.dist_a_admin,
                    # What its distributor pays the vendor is not the MSP's business.
                    "statement": statement[t.dist_a],
                    "price_list": prices[t.dist_a],
                },
                [
                    "dist-a@",
                    "Northwind Distribution",
                    "Bluebird Managed",
                    "Cobalt Services",
                    "Charlie Farms",
                    keys["a3"].key,
                ],
            ),
            "distributor reaching into a sibling's MSP": (
                t.dist_b,
                own_dist_b,
                {
                    "organisation": t.msp_a1,
                    "msp": t.msp_a1,
                    "account": t.account_a1,
                    "site": t.site_a1,
                    "key": keys["a1"],
                    "user": t.msp_a1_admin,
                    "statement": statement[t.msp_a1],
                    "price_list": prices[t.msp_a1],
                },
                ["Northwind Distribution", "Acme IT", "Alpha Dental", keys["a1"].key, "msp-a1@", "dist-a@"],
            ),
        },
    }


SCENARIOS = [
    "sibling distributor",
    "sibling MSP",
    "MSP reaching up to its distributor",
    "distributor reaching into a sibling's MSP",
]


# ---------------------------------------------------------------- the matrix


def test_the_matrix_covers_the_api():
    ops = private_operations()
    assert len(ops) >= 20
    assert {op.method for op in ops} >= {"GET", "POST", "PATCH", "DELETE"}
    assert sum(1 for op in ops if op.object_params) >= 15


def test_every_object_argument_is_known():
    unknown = {
        (str(op), where, name)
        for op in private_operations()
        for where, name in op.object_params
        if name not in OBJECT_PARAMS
    }
    assert not unknown, f"Add these arguments to OBJECT_PARAMS: {sorted(unknown)}"


def test_only_the_call_home_protocol_is_public():
    document = api.get_openapi_schema(path_prefix="/api/v1/")
    public = {
        (m.upper(), p)
        for p, ms in document["paths"].items()
        for m, op in ms.items()
        if not op.get("security")
    }
    assert public == PUBLIC


def _cases(op: Operation) -> Iterator[tuple[str, str] | None]:
    yield from op.object_params or [None]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_an_outsider_token_gets_404_on_every_operation(world, scenario):
    org, own, victim, victim_names = world["scenarios"][scenario]
    client = ApiClient(make_token(org, scope=ApiToken.Scope.READ_WRITE)[1])
    failures = []
    tried = 0
    for op in private_operations():
        for case in _cases(op):
            if case is None:
                # Nothing to aim at: the operation answers about the token's own subtree.
                url, query, body = request_for(op, own)
                response = call(client, op, url, query, body)
                allowed = response.status_code < 500
            else:
                url, query, body = request_for(op, own, victim=case, bad=victim)
                response = call(client, op, url, query, body)
                allowed = response.status_code == 404 or (
                    response.status_code == 403
                    and response.json()["error"]
                    in {"forbidden", "read_only_token", "not_allowed_by_agreement"}
                )
            tried += 1
            text = response.content.decode()
            leaked = [name for name in victim_names if name in text]
            if not allowed or leaked:
                failures.append(
                    f"{op} {case} {json.dumps(query)} {json.dumps(body)} → {response.status_code} {leaked} {text[:200]}"
                )
    assert tried >= 25
    assert not failures, "\n".join(failures)


def test_every_operation_needs_a_token(world):
    client = ApiClient(None)
    failures = []
    for op in private_operations():
        response = call(client, op, *request_for(op, world["own_dist_a"]))
        if response.status_code != 401 or response.json()["error"] != "unauthorized":
            failures.append(f"{op} → {response.status_code}")
    assert not failures, "\n".join(failures)


def test_a_revoked_token_gets_401_everywhere(world):
    from keyledger.api.actions import revoke_token

    token, secret = make_token(world["tree"].dist_a)
    revoke_token(token=token, actor=Actor.system())
    client = ApiClient(secret)
    failures = [
        str(op)
        for op in private_operations()
        if call(client, op, *request_for(op, world["own_dist_a"])).status_code != 401
    ]
    assert not failures, "\n".join(failures)


def test_a_read_only_token_gets_403_on_every_write(world):
    client = ApiClient(make_token(world["tree"].dist_a, scope=ApiToken.Scope.READ_ONLY)[1])
    writes = [op for op in private_operations() if op.method in WRITE_METHODS]
    assert len(writes) >= 12
    failures = []
    for op in writes:
        response = call(client, op, *request_for(op, world["own_dist_a"]))
        if response.status_code != 403 or response.json()["error"] != "read_only_token":
            failures.append(f"{op} → {response.status_code} {response.content[:200]!r}")
    assert not failures, "\n".join(failures)


def test_the_owner_reads_every_object_it_is_asked_about(world):
    # The matrix's requests are well formed: with the organisation's own objects they answer 200,
    # so the outsiders' 404s come from the door, not from a malformed request.
    client = ApiClient(make_token(world["tree"].dist_a, scope=ApiToken.Scope.READ_WRITE)[1])
    reads = [op for op in private_operations() if op.method == "GET"]
    failures = []
    for op in reads:
        for case in _cases(op):
            url, query, body = request_for(op, world["own_dist_a"], victim=case, bad=world["own_dist_a"])
            response = call(client, op, url, query, body)
            if response.status_code != 200:
                failures.append(f"{op} {case} → {response.status_code} {response.content[:200]!r}")
    assert not failures, "\n".join(failures)


def test_request_builder_names_every_required_body_field():
    # A body the builder cannot fill would make the outsider calls fail validation (422)
    # instead of reaching the door.
    for op in private_operations():
        if op.body is None:
            continue
        _, _, body = request_for(op, _Everything(), victim=None)
        missing = set(op.body.get("required", [])) - set(body)
        assert not missing, f"{op}: {missing}"


class _Everything(dict):
    def __missing__(self, key: str) -> Any:
        return type("Obj", (), {"pk": 1})()


# Who reaches every object of each scenario's victim: the control of the write matrix.
OWNERS = {
    "sibling distributor": "dist_b",
    "sibling MSP": "dist_a",
    "MSP reaching up to its distributor": "vendor",
    "distributor reaching into a sibling's MSP": "dist_a",
}


def test_every_write_finds_the_victims_objects_for_their_owner(world):
    """Each write that answers an outsider 404 is found (not 404) by the owner of the same
    objects in at least one scenario: so the outsider's 404 is the door's, not a request
    that points at nothing."""
    assert set(OWNERS) == set(SCENARIOS)
    writes = [op for op in private_operations() if op.method in WRITE_METHODS and op.object_params]
    assert len(writes) >= 12
    found: set[str] = set()
    for scenario, owner in OWNERS.items():
        _, _, victim, _ = world["scenarios"][scenario]
        client = ApiClient(make_token(getattr(world["tree"], owner), scope=ApiToken.Scope.READ_WRITE)[1])
        for op in writes:
            if str(op) not in found and call(client, op, *request_for(op, victim)).status_code != 404:
                found.add(str(op))
    missing = sorted({str(op) for op in writes} - found)
    assert not missing, f"Never reached by their owner, so an outsider's 404 proves nothing: {missing}"
