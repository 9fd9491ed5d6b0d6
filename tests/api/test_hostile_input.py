"""Hostile input to the API: too long for its column, NUL characters, wrong types. Each is a
422 naming the field, never a 500, and nothing is written."""

import pytest

from keyledger.api.models import ApiToken
from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Account
from keyledger.keys.models import ProductKey
from keyledger.organisations.models import Invitation, Organisation
from tests.api.conftest import ApiClient, make_token

LONG = "x" * 5000


def _dist(t):
    return f"/organisations/{t.dist_a.pk}"


CASES = [
    # (who, method, path, body, the field at fault)
    ("dist_a", "POST", lambda t: _dist(t) + "/msps", {"name": LONG}, "name"),
    ("dist_a", "POST", lambda t: _dist(t) + "/msps", {"name": "Ok", "city": LONG}, "city"),
    ("dist_a", "POST", lambda t: _dist(t) + "/msps", {"name": "Ok", "postal_code": "1" * 21}, "postal_code"),
    ("dist_a", "POST", lambda t: _dist(t) + "/msps", {"name": "Nul\x00Name"}, "name"),
    ("dist_a", "POST", lambda t: _dist(t) + "/msps", {"name": ["a list"]}, "name"),
    (
        "dist_a",
        "POST",
        lambda t: _dist(t) + "/invitations",
        {"email": "new@example.test", "name": "N", "company": LONG},
        "company",
    ),
    (
        "dist_a",
        "POST",
        lambda t: _dist(t) + "/invitations",
        {"email": "new@example.test", "name": "N", "company": "C", "region": LONG},
        "region",
    ),
    (
        "dist_a",
        "POST",
        lambda t: _dist(t) + "/users",
        {"email": "new@example.test", "full_name": LONG, "role": "member"},
        "full_name",
    ),
    ("dist_a", "POST", lambda t: _dist(t) + "/users", {"email": "x" * 300 + "@example.test"}, "email"),
    ("msp_a1", "POST", lambda t: "/accounts", {"msp_id": "MSPID", "name": "Nul\x00"}, "name"),
    ("msp_a1", "POST", lambda t: "/accounts", {"msp_id": "MSPID", "name": "A", "notes": "n\x00"}, "notes"),
    ("msp_a1", "PATCH", lambda t: f"/accounts/{t.account_a1.pk}", {"address": "\x00"}, "address"),
    ("msp_a1", "GET", lambda t: "/accounts", {"name": "\x00"}, "name"),
    ("dist_a", "GET", lambda t: "/audit-log", {"action": "\x00"}, "action"),
    ("msp_a1", "GET", lambda t: "/keys", {"product": "\x00"}, "product"),
    ("msp_a1", "POST", lambda t: "/keys", {"product": "gre\x00", "account_id": "ACCOUNTID"}, "product"),
    (
        "msp_a1",
        "POST",
        lambda t: "/keys",
        {
            "product": "gre",
            "account_id": "ACCOUNTID",
            "fields": {"exchange_server_name": "FS\x0001", "exchange_server_version": "2019"},
        },
        "fields",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[1]} {c[4]} {i}" for i, c in enumerate(CASES)])
def test_hostile_input_is_a_field_error(tree, case):
    who, method, path, body, field = case
    org = getattr(tree, who)
    ids = {"MSPID": tree.msp_a1.pk, "ACCOUNTID": tree.account_a1.pk}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    client = ApiClient(make_token(org, scope=ApiToken.Scope.READ_WRITE)[1])
    counts = (
        Organisation.objects.count(),
        Account.objects.count(),
        Invitation.objects.count(),
        ProductKey.objects.count(),
    )
    audit = AuditEntry.objects.count()
    response = client.request(method, path(tree), body)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert (
        Organisation.objects.count(),
        Account.objects.count(),
        Invitation.objects.count(),
        ProductKey.objects.count(),
    ) == counts
    assert AuditEntry.objects.count() == audit
    tree.account_a1.refresh_from_db()
    assert "\x00" not in tree.account_a1.address
