"""The outsider matrix: every portal URL, tried by someone outside the object's subtree.

URL patterns are read from the URL configuration. A URL argument names the kind of
object it points at; VICTIM_OBJECTS says which object of the victim each one takes.
A new argument name fails test_every_url_argument_is_known until it is added here,
so a new view cannot escape the check.
"""

from collections.abc import Callable
from datetime import date

import pytest
from django.urls import reverse

from keyledger.api.actions import create_token
from keyledger.audit.actor import Actor
from keyledger.billing.models import PriceList, Statement
from keyledger.keys.actions import source_keys
from keyledger.keys.models import Product
from keyledger.organisations.models import Organisation
from keyledger.testing.tree import Tree
from keyledger.testing.urls import Route, portal_routes


def draft_statement(customer: Organisation) -> Statement:
    """A draft statement of November 2026 that the customer's parent issues it."""
    return Statement.objects.get_or_create(
        issuer=customer.parent, customer=customer, month=date(2026, 11, 1)
    )[0]


def price_list(customer: Organisation) -> PriceList:
    return PriceList.objects.get_or_create(
        customer=customer, defaults={"issuer": customer.parent, "currency": "EUR"}
    )[0]


# Pages anyone may open, signed in or not; they take a secret, not an object id.
PUBLIC = {
    "portal:login",
    "portal:logout",
    "portal:invitation",
    # The sign-in's second step: it serves the session that just gave the right password.
    "portal:two_factor_sign_in",
    "portal:password_reset",
    "portal:password_reset_sent",
    "portal:password_reset_confirm",
}

# Scenario name → (the outsider, the objects it reaches for).
SCENARIOS: dict[str, Callable[[Tree], tuple]] = {
    "sibling distributor": lambda t: (
        t.dist_a_admin,
        {
            "organisation": t.dist_b,
            "msp": t.msp_b1,
            "account": t.account_b1,
            "site": t.site_b1,
            "user": t.dist_b_admin,
        },
    ),
    "sibling MSP": lambda t: (
        t.msp_a1_admin,
        {
            "organisation": t.msp_a2,
            "msp": t.msp_a2,
            "account": t.account_a2,
            "site": t.site_a2,
            "user": t.msp_a2_admin,
        },
    ),
    "MSP reaching up to its distributor": lambda t: (
        t.msp_a1_admin,
        {
            "organisation": t.dist_a,
            "msp": t.msp_a3,
            "account": t.account_a3,
            "site": t.site_a2,
            "user": t.dist_a_admin,
        },
    ),
    "distributor reaching into a sibling's MSP": lambda t: (
        t.dist_b_admin,
        {
            "organisation": t.msp_a1,
            "msp": t.msp_a1,
            "account": t.account_a1,
            "site": t.site_a1,
            "user": t.msp_a1_admin,
        },
    ),
}

# Someone who reaches every object of the scenario's victim: the control that shows the
# outsider's 404 comes from the door, not from a URL that points at nothing.
OWNERS: dict[str, str] = {
    "sibling distributor": "dist_b_admin",
    "sibling MSP": "dist_a_admin",
    "MSP reaching up to its distributor": "vendor_admin",
    "distributor reaching into a sibling's MSP": "dist_a_admin",
}

# URL argument → which victim object fills it.
VICTIM_OBJECTS: dict[str, Callable[[dict], object]] = {
    "organisation_id": lambda v: v["organisation"].pk,
    "msp_id": lambda v: v["msp"].pk,
    "account_id": lambda v: v["account"].pk,
    "site_id": lambda v: v["site"].pk,
    "token_id": lambda v: (
        create_token(
            organisation=v["organisation"], name="Victim token", scope="read-write", actor=Actor.system()
        )[0].pk
    ),
    "user_id": lambda v: v["user"].pk,
    "statement_id": lambda v: draft_statement(v["msp"]).pk,
    "price_list_id": lambda v: price_list(v["msp"]).pk,
    "key_id": lambda v: (
        source_keys(
            product=Product.objects.get(code="spmsp"),
            quantity=1,
            account=v["account"],
            site=None,
            fields={},
            actor=Actor.system(),
        )[0].pk
    ),
}

# Names that only the victim's pages would show; none may appear on an outsider's page.
VICTIM_NAMES = {
    "sibling distributor": ["Southgate Supply", "Dingo Networks", "Delta Freight"],
    "sibling MSP": ["Bluebird Managed", "Bravo Legal"],
    "MSP reaching up to its distributor": ["Bluebird Managed", "Cobalt Services", "Charlie Farms"],
    "distributor reaching into a sibling's MSP": ["Northwind Distribution", "Acme IT", "Alpha Dental"],
}


def object_routes() -> list[Route]:
    return [r for r in portal_routes() if r.kwargs and r.name not in PUBLIC]


def plain_routes() -> list[Route]:
    return [r for r in portal_routes() if not r.kwargs and r.name not in PUBLIC]


def test_every_url_argument_is_known():
    unknown = {(r.name, k) for r in object_routes() for k in r.kwargs if k not in VICTIM_OBJECTS}
    assert not unknown, f"Add these URL arguments to VICTIM_OBJECTS: {sorted(unknown)}"


def test_the_matrix_covers_the_portal():
    # The matrix must not pass by trying nothing.
    assert len(object_routes()) >= 20 and len(plain_routes()) >= 5
    assert set(OWNERS) == set(SCENARIOS) == set(VICTIM_NAMES)


def test_every_object_url_answers_its_owner(tree, client):
    """Each object URL, filled with a scenario's victim objects, is found (not 404) by the
    victim's own side in at least one scenario: so the outsider's 404 there is the door's."""
    found: set[str] = set()
    for scenario, owner in OWNERS.items():
        _, victim = SCENARIOS[scenario](tree)
        client.force_login(getattr(tree, owner))
        for route in object_routes():
            url = reverse(route.name, kwargs={k: VICTIM_OBJECTS[k](victim) for k in route.kwargs})
            if client.get(url).status_code != 404 or client.post(url).status_code != 404:
                found.add(route.name)
    missing = sorted({r.name for r in object_routes()} - found)
    assert not missing, f"No scenario reaches these for their owner, so their 404 proves nothing: {missing}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_outsider_gets_404_on_every_object_url(tree, client, scenario):
    user, victim = SCENARIOS[scenario](tree)
    client.force_login(user)
    failures = []
    for route in object_routes():
        url = reverse(route.name, kwargs={k: VICTIM_OBJECTS[k](victim) for k in route.kwargs})
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code != 404:
                failures.append(f"{method.upper()} {url} ({route.name}) → {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_outsider_pages_never_show_the_victims_names(tree, client, scenario):
    user, _ = SCENARIOS[scenario](tree)
    client.force_login(user)
    leaks = []
    for route in plain_routes():
        response = client.get(reverse(route.name), follow=True)
        # A CSV download streams: its rows are read too.
        content = b"".join(response.streaming_content) if response.streaming else response.content
        body = content.decode(errors="replace")
        leaks += [f"{route.name} shows {name!r}" for name in VICTIM_NAMES[scenario] if name in body]
    assert not leaks, "\n".join(leaks)


def test_anonymous_is_sent_to_sign_in_everywhere(tree, client):
    victim = SCENARIOS["sibling distributor"](tree)[1]
    failures = []
    for route in [*object_routes(), *plain_routes()]:
        url = reverse(route.name, kwargs={k: VICTIM_OBJECTS[k](victim) for k in route.kwargs})
        response = client.get(url)
        if response.status_code not in (302, 404) or (
            response.status_code == 302 and reverse("portal:login") not in response["Location"]
        ):
            failures.append(f"GET {url} → {response.status_code}")
    assert not failures, "\n".join(failures)
