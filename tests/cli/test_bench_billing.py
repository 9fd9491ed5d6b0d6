"""The billing bench's synthetic channel is a channel the product could have written: its
spans are the ones a replay of its events gives, its invariant checks pass on it and catch
a broken history, and `make bench-billing` runs end to end on a tiny scale."""

import importlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

from bench.billing import invariants
from bench.billing.data import Scale, generate
from keyledger.billing.engine import Scope, month_keys
from keyledger.billing.models import ActiveSpan, Price, PriceList
from keyledger.billing.sql import fetch_dicts
from keyledger.keys.models import KeyEvent, ProductKey

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
SCALE = Scale(keys=200, msps=6, distributors=2, big_msp_keys=40)
SPAN_COLUMNS = (
    "key_id",
    "period_start",
    "started_at",
    "ended_at",
    "ends_period",
    "edition",
    "account_id",
    "site_id",
)


@pytest.fixture
def dataset(db):
    return generate(SCALE, now=NOW)


def broken(rule_start: str) -> int:
    return next(r.broken for r in invariants.check(NOW) if r.rule.startswith(rule_start))


def test_the_dataset_has_every_kind_of_history_and_its_invariants_hold(dataset):
    assert dataset.month.first_day.isoformat() == "2026-02-01"
    assert ProductKey.objects.count() == 200
    assert ProductKey.objects.filter(msp_id=dataset.big_msp_id).count() == 40
    assert set(ProductKey.objects.values_list("state", flat=True)) == set(ProductKey.State.values)
    transitions = set(KeyEvent.objects.values_list("transition", flat=True))
    assert {
        "activate",
        "finalise_deactivation",
        "lease_expired",
        "finalise_reactivation",
        "move",
    } <= transitions
    assert {"report_edition", "turn_critical"} <= transitions
    assert 1.3 < ActiveSpan.objects.count() / ProductKey.objects.exclude(state="unused").count() < 1.8
    assert PriceList.objects.count() == 2 + 6 and Price.objects.exists()
    assert [r for r in invariants.check(NOW) if r.broken] == []
    # The month the bench closes has keys on both sides of the billable line.
    rows = fetch_dicts(month_keys(dataset.month, Scope(path=f"/{dataset.vendor_id}/")))
    assert {r["billable"] for r in rows} == {0, 1}


def test_the_spans_are_those_a_replay_of_the_events_gives(dataset):
    written = set(ActiveSpan.objects.values_list(*SPAN_COLUMNS))
    ActiveSpan.objects.all().delete()
    replay = importlib.import_module("keyledger.billing.migrations.0003_spans_from_events").replay
    replay(apps, connection.schema_editor())
    assert set(ActiveSpan.objects.values_list(*SPAN_COLUMNS)) == written


def test_the_checks_catch_a_broken_history(dataset):
    event = KeyEvent.objects.filter(transition="finalise_deactivation").first()
    KeyEvent.objects.filter(pk=event.pk).update(old_state="ok")
    assert broken("each key's events replay") == 1
    assert broken("every event is a transition") == 1
    span = ActiveSpan.objects.filter(ended_at__isnull=True).first()
    ActiveSpan.objects.filter(pk=span.pk).update(ended_at=NOW)
    assert broken("an open span exactly for the keys in an active state") == 1
    assert broken("each ended span ends at the event") == 1
    key = ProductKey.objects.exclude(site=None).first()
    ProductKey.objects.filter(pk=key.pk).update(msp_id=dataset.vendor_id)
    assert broken("a key's MSP is its account's") >= 1


def test_the_bench_runs_end_to_end_on_a_throw_away_database(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KEYLEDGER_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'real.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench.billing", "--keys", "200", "--runs", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Keyledger billing bench on sqlite: 200 keys")
    assert "BROKEN" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # the data directory of the environment is untouched
