"""The pool each process gets from DATABASE_POOL_SIZE, and the worker's counts for /metrics."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from prometheus_client import REGISTRY

import keyledger.settings as settings_module


def test_a_pool_size_gives_each_process_a_bounded_pool(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://keyledger@db.example.test:5432/keyledger")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_POOL_TIMEOUT", "7")
    config = settings_module._database()
    assert config["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 3, "timeout": 7}
    assert config["CONN_MAX_AGE"] == 0  # Django refuses persistent connections with a pool


def test_without_a_pool_size_connections_are_kept_per_thread(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://keyledger@db.example.test:5432/keyledger")
    monkeypatch.delenv("DATABASE_POOL_SIZE", raising=False)
    config = settings_module._database()
    assert "pool" not in config["OPTIONS"]


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.mark.django_db
def test_the_worker_counts_its_sweeps_and_billing_runs():
    sweeps, runs = (
        sample("keyledger_worker_sweeps_total"),
        sample("keyledger_statement_finalisation_runs_total", {"result": "ok"}),
    )
    call_command("worker", "--once", stdout=None)
    assert sample("keyledger_worker_sweeps_total") == sweeps + 1
    assert sample("keyledger_statement_finalisation_runs_total", {"result": "ok"}) == runs + 1
