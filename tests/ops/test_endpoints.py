"""/healthz, /readyz, /metrics and the request log, in-process through Django's test client."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from keyledger.keys.models import ProductKey
from keyledger.ops import health
from keyledger.ops.logs import JsonFormatter
from keyledger.testing.billing import active_key
from tests.api.conftest import make_token

CALL_HOME = "/api/v1/call-home"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def parsed(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def request_log() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("keyledger.request")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def call_home_body(key: str, nonce: str = "n-1", pk: int = 0) -> dict:
    return {
        "key": key,
        # The machine keyledger.testing.billing.active_key activated the key on.
        "machine": {"name": f"M-{pk}", "hardware_id": f"HW-{pk}", "software_id": f"SW-{pk}"},
        "product": "spmsp",
        "edition": "server",
        "nonce": nonce,
    }


@pytest.mark.django_db
def test_healthz_answers_before_host_checks_and_https_redirects(client, settings, django_assert_num_queries):
    settings.SECURE_SSL_REDIRECT = True
    with django_assert_num_queries(0):  # no session, no user: none of the portal's middleware
        response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")  # an address, not an allowed host
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert not response.cookies


@pytest.mark.django_db
def test_readyz_is_ready_with_the_database_reachable_and_migrated(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    response = client.get("/readyz", HTTP_HOST="10.1.2.3")
    assert (response.status_code, response.content) == (200, b"ready\n")


@pytest.mark.django_db
def test_readyz_refuses_while_a_migration_is_not_applied(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("migration", False)])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert b"migrations not applied" in response.content


@pytest.mark.django_db
def test_readyz_refuses_when_the_database_does_not_answer(client, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", broken)
    response = client.get("/readyz")
    assert (response.status_code, response.content) == (503, b"database unreachable\n")


def test_metrics_are_not_served_without_a_token_setting(client, settings):
    settings.KEYLEDGER_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_metrics_refuse_a_wrong_token(client, settings):
    settings.KEYLEDGER_METRICS_TOKEN = "right-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.django_db
def test_metrics_count_call_homes_by_outcome_and_read_the_database(client, settings, tree):
    settings.KEYLEDGER_METRICS_TOKEN = "right-token"
    now = timezone.now()
    key = active_key(tree.account_a1, now - timedelta(days=5))
    # Silent past the threshold: due for the sweep for about two hours.
    ProductKey.objects.filter(pk=key.pk).update(critical_due_at=now - timedelta(hours=2))

    def scrape() -> str:
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer right-token")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.content.decode()

    before = scrape()
    unknown = client.post(CALL_HOME, call_home_body("2" * 25), content_type="application/json")
    assert unknown.status_code in (400, 404)
    outcome = json.loads(unknown.content)["error"]
    client.post(CALL_HOME, b"not json", content_type="application/json")
    after = scrape()

    name = f'keyledger_call_homes_total{{outcome="{outcome}"}}'
    assert metric(after, name) == metric(before, name) + 1
    assert metric(after, 'keyledger_call_homes_total{outcome="bad_request"}') >= 1
    assert (
        'keyledger_http_request_duration_seconds_bucket{le="0.1",method="POST",route="call_home_door"'
        in after
    )
    assert metric(after, 'keyledger_keys{state="ok"}') == 1
    assert 7000 <= metric(after, "keyledger_sweeper_lag_seconds") <= 7400
    assert "keyledger_statements{" in after
    assert (
        "keyledger_statement_finalisation_runs_total" in after
        or "# HELP keyledger_statement_finalisation_runs" in after
    )


@pytest.mark.django_db
def test_one_json_line_per_request_without_keys_tokens_or_paths(client, tree, request_log, caplog):
    now = timezone.now()
    key = active_key(tree.account_a1, now - timedelta(days=1))
    client.post(CALL_HOME, call_home_body(key.key, pk=key.pk), content_type="application/json")
    _, secret = make_token(tree.dist_a)
    api = Client()
    api.get("/api/v1/organisations", HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.force_login(tree.msp_a1_admin)
    client.get("/")
    invitation_token = "secret-invitation-token-0123456789"
    client.get(f"/invitations/{invitation_token}/")
    client.post("/login/", {"username": tree.msp_a1_admin.email, "password": "a password typed"})

    lines = request_log.parsed()
    assert len(lines) == 5
    for line in lines:
        assert {"method", "route", "status", "duration_ms", "organisation"} <= set(line)
        assert isinstance(line["duration_ms"], float)
    call, api_line, home, invitation, login = lines
    assert (call["method"], call["route"], call["status"]) == ("POST", "call_home_door", 200)
    assert api_line["organisation"] == tree.dist_a.pk and api_line["status"] == 200
    assert home["organisation"] == tree.msp_a1.pk
    assert invitation["route"] == "portal:invitation"
    assert login["method"] == "POST"
    # Django's own warnings of the 404 name the route, not the path with its token.
    warnings = [r for r in caplog.records if r.name == "django.request"]
    assert warnings and all(invitation_token not in r.getMessage() for r in warnings)
    text = "\n".join(request_log.lines)
    compact = key.key.replace("-", "")
    for secret_text in (key.key, compact, compact[:10], secret, invitation_token, "a password typed"):
        assert secret_text not in text


@pytest.mark.django_db
def test_a_made_up_method_is_counted_as_other(client, settings, request_log):
    settings.KEYLEDGER_METRICS_TOKEN = "right-token"
    client.generic("BREW", "/login/")
    assert request_log.parsed()[-1]["method"] == "other"
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer right-token").content.decode()
    assert 'method="BREW"' not in text and 'method="other"' in text
