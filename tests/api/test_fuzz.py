"""The API against its own OpenAPI document, fuzzed with schemathesis.

Every operation is called with generated requests, valid ones and ones the schema forbids,
with a read-write token of an MSP and, separately, of a distributor, on the shared test tree
with keys and prices. Every schemathesis check runs on every answer (no server error; status
code, content type, headers and body as documented; data the schema forbids refused, data
it allows accepted; ...). Generation is derandomized with a fixed number of examples per
operation: every run sends the same requests.

Each request runs in a savepoint rolled back after its checks, so every case starts from the
same data (a fuzzed "Deactivate user" of the token's own creator would otherwise lock the
token out for the rest of the run).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.db import transaction
from django.test.client import ClientHandler
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.openapi.checks import RejectedPositiveData

from keyledger.testing.billing import november
from tests.api.conftest import make_token

EXAMPLES_PER_OPERATION = 20  # valid and invalid requests together, per token
# The same requests on every run, whatever else changes in this file (derandomize alone would
# seed from the test function's source).
SEED = 20261205

CONFIG = {
    "generation": {
        # Negative data would otherwise include query parameters the operation does not
        # declare. The API ignores parameters it does not know (as it ignores body fields it
        # does not know), so such a request is not invalid input and answers 200.
        "allow-extra-parameters": False,
    },
}

# The only schema-valid requests the API may refuse (400 or 422 naming the field): those whose
# rule depends on the data or spans two fields, which OpenAPI cannot state. Any other refusal
# of a schema-valid request (another field, another operation) fails the run.
DATA_RULES: dict[str, dict[str, str]] = {
    # 400 invalid_key_format (check): a key's last symbol is a checksum of the others.
    "POST /api/v1/call-home": {"key": "the check symbol of a product key"},
    "GET /api/v1/keys": {"key": "the check symbol of a product key"},
    "POST /api/v1/keys": {"product": "a product code of the catalog, which is data"},
    "POST /api/v1/keys/{key_id}/move": {"account_id": "an account of the key's own MSP"},
    "PATCH /api/v1/sites/{site_id}": {"account_id": "an account of the site's own MSP"},
    "POST /api/v1/organisations/{msp_id}/portal-access": {"email": "needed when the MSP has no users yet"},
    "POST /api/v1/price-lists": {
        "customer_id": "an organisation directly below the caller's, without a list in that currency",
    },
    "POST /api/v1/price-lists/{price_list_id}/prices": {
        "product": "a product code of the catalog, which is data",
        "month": "a month not yet final for the customer, without a price of the item from it",
    },
    "GET /api/v1/reports/activation": {
        "product": "product codes of the catalog, which is data",
        "end": "not before start: a rule across two fields",
    },
    "GET /api/v1/reports/billing": {
        "prices": "whose prices the caller may see (an MSP: msp only)",
        "month": "from the first year of billing up to the running month, which the clock decides",
    },
}


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Django as a WSGI application that keeps the test's database connection (and its
    transaction) open between requests, as Django's test client does."""
    response = ClientHandler(enforce_csrf_checks=False)(environ)
    headers = list(response.items())
    headers += [("Set-Cookie", c.output(header="")) for c in response.cookies.values()]
    start_response(f"{response.status_code} {response.reason_phrase}", headers)
    if response.streaming:
        return [b"".join(response.streaming_content)]
    return [response.content]


@dataclass
class Figures:
    operations: int = 0
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    data_rules_met: set[tuple[str, str]] = field(default_factory=set)


def _known_ids(tree: Any, world: Any) -> dict[str, list[int]]:
    """Real objects, so that generated requests reach past "not found" into the operations."""
    organisations = [tree.vendor, tree.dist_a, tree.msp_a1, tree.msp_a2, tree.msp_a3, tree.dist_b]
    return {
        "organisation_id": [o.pk for o in organisations],
        "msp_id": [tree.msp_a1.pk, tree.msp_a2.pk, tree.msp_a3.pk, tree.msp_b1.pk],
        "account_id": [tree.account_a1.pk, tree.account_a2.pk, tree.account_a3.pk, tree.account_b1.pk],
        "site_id": [tree.site_a1.pk, tree.site_a2.pk, tree.site_b1.pk],
        "key_id": [k.pk for k in vars(world).values()],
        "user_id": [u.pk for u in tree.users()],
        "customer_id": [o.pk for o in organisations],
    }


def _data_rule(label: str, exc: FailureGroup, response: Any) -> str | None:
    """The field whose rule (one the schema cannot state) refused the request, when that is
    the only failure; None otherwise."""
    if not all(isinstance(f, RejectedPositiveData) for f in exc.exceptions):
        return None
    if response.status_code not in (400, 422):
        return None
    try:
        refused = json.loads(response.content).get("field")
    except ValueError:
        return None
    return refused if refused in DATA_RULES.get(label, {}) else None


def _fuzz(operation: Any, token: str, known: dict[str, list[int]], figures: Figures) -> None:
    failures: list[str] = []
    strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]

    @seed(SEED)
    @given(case=st.one_of(strategies), use_known=st.booleans(), pick=st.integers(0, 100))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=["explicit", "generate"],
        # Health checks judge the generation (slow or much-filtered data for rich schemas), not
        # the API; max_examples bounds the run.
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, use_known: bool, pick: int) -> None:
        # Only a valid request gets real ids: an invalid one must stay invalid.
        if use_known and case.meta.generation.mode.is_positive:
            for name in case.path_parameters or {}:
                if name in known:
                    case.path_parameters[name] = known[name][pick % len(known[name])]
            if isinstance(case.body, dict):
                for name, value in case.body.items():
                    if name in known and isinstance(value, int):
                        case.body[name] = known[name][pick % len(known[name])]
        figures.cases += 1
        with transaction.atomic():
            headers = {"Authorization": f"Bearer {token}"}
            response = case.call(headers=headers)
            try:
                case.validate_response(response, headers=headers, transport_kwargs={"headers": headers})
            except FailureGroup as exc:
                rule = _data_rule(operation.label, exc, response)
                if rule is not None:
                    figures.data_rules_met.add((operation.label, rule))
                elif len(failures) < 3:
                    failures.append(f"{operation.label}: {exc}")
            except Exception as exc:  # a check that could not run is a failure too
                if len(failures) < 3:
                    failures.append(f"{operation.label}: {type(exc).__name__}: {exc}")
            finally:
                transaction.set_rollback(True)

    run()
    figures.failures += failures


@pytest.mark.parametrize("organisation", ["msp_a1", "dist_a"])
def test_the_api_keeps_its_openapi_promises(tree, organisation, settings):
    # Call home is fuzzed too: its limits are far above what the run sends.
    settings.KEYLEDGER_RATE_LIMIT_PER_KEY = 100_000
    settings.KEYLEDGER_RATE_LIMIT_PER_IP = 100_000
    cache.clear()
    world = november(tree)
    _, token = make_token(getattr(tree, organisation))
    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app, config=config)
    figures = Figures()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        figures.operations += 1
        _fuzz(operation, token, _known_ids(tree, world), figures)
    elapsed = time.monotonic() - started
    print(
        f"\nAPI fuzzing ({organisation}): {figures.operations} operations, {figures.cases} cases, "
        f"{len(figures.failures)} failures, {elapsed:.1f} s; "
        f"schema-valid requests refused by a data rule: {sorted(figures.data_rules_met)}"
    )
    assert not figures.failures, "\n\n".join(figures.failures)
