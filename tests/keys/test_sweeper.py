import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.keys import actions
from keyledger.keys.management.commands import worker
from keyledger.keys.models import KeyEvent, ProductKey
from keyledger.keys.sweeper import sweep
from tests.keys.factories import activated, call, reload, replayed_state, source

State = ProductKey.State
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
THRESHOLD = timedelta(hours=72)


@pytest.fixture
def keys_at_t0(tree):
    with time_machine.travel(T0, tick=False):
        return {
            "a1_first": activated(account=tree.account_a1),
            "a1_second": activated(account=tree.account_a1, code="imagemanager"),
            "a3": activated(account=tree.account_a3),
        }


def test_an_ok_key_silent_past_the_threshold_turns_critical(keys_at_t0):
    key = keys_at_t0["a1_first"]
    with time_machine.travel(T0 + THRESHOLD, tick=False):
        assert sweep().count == 0
        assert reload(key).state_at(T0 + THRESHOLD) == State.OK
    with time_machine.travel(T0 + THRESHOLD + timedelta(seconds=1), tick=False):
        result = sweep()
    assert {k.pk for k in result.turned_critical} == {k.pk for k in keys_at_t0.values()}
    key = reload(key)
    assert key.state == State.CRITICAL and key.status_label == "Critical" and key.is_billed_state
    assert key.critical_due_at is None
    event = key.events.last()
    assert (event.old_state, event.new_state, event.cause, event.actor_user) == (
        "ok",
        "critical",
        "sweeper",
        None,
    )
    assert event.at == T0 + THRESHOLD + timedelta(seconds=1)
    assert event.machine_name == "FS01" and event.msp_id == key.msp_id
    audit = AuditEntry.objects.get(action="key.turn_critical", object_id=str(key.pk))
    assert audit.organisation == key.msp and audit.channel == "worker"
    assert audit.changes == {"state": ["ok", "critical"]}


def test_a_key_that_called_home_since_its_index_entry_is_moved_on_not_swept(keys_at_t0):
    key = keys_at_t0["a1_first"]
    armed = reload(key).sweep_after
    assert armed == T0 + THRESHOLD
    # Steady call homes move the due time, not the index entry (a HOT update on PostgreSQL).
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        call(key)
    key = reload(key)
    assert key.sweep_after == armed and key.critical_due_at == T0 + timedelta(days=2) + THRESHOLD
    with time_machine.travel(T0 + THRESHOLD + timedelta(seconds=1), tick=False):
        result = sweep()
    assert key.pk not in {k.pk for k in result.turned_critical}
    key = reload(key)
    assert key.state == State.OK and key.sweep_after == key.critical_due_at
    assert not key.events.filter(new_state=State.CRITICAL).exists()
    later = key.critical_due_at + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        assert [k.pk for k in sweep().turned_critical] == [key.pk]
    key = reload(key)
    assert key.state == State.CRITICAL and key.sweep_after is None and key.critical_due_at is None
    assert key.events.last().at == later


def test_the_portal_shows_critical_before_the_sweeper_runs(keys_at_t0):
    key = reload(keys_at_t0["a1_first"])
    assert key.status_label_at(T0 + THRESHOLD + timedelta(seconds=1)) == "Critical"
    assert key.state == State.OK


def test_a_call_home_keeps_a_key_ok_and_a_critical_key_recovers(keys_at_t0):
    key = keys_at_t0["a1_first"]
    with time_machine.travel(T0 + timedelta(hours=70), tick=False):
        call(key)
    with time_machine.travel(T0 + THRESHOLD + timedelta(hours=1), tick=False):
        result = sweep()
    assert key.pk not in {k.pk for k in result.turned_critical}
    assert reload(key).state == State.OK
    with time_machine.travel(T0 + timedelta(hours=143), tick=False):
        assert key.pk in {k.pk for k in sweep().turned_critical}
        call(key)
    assert reload(key).state == State.OK
    assert [e.new_state for e in key.events.order_by("id")][-2:] == ["critical", "ok"]
    assert replayed_state(key) == State.OK


def test_the_threshold_comes_from_the_settings(tree, settings):
    settings.KEYLEDGER_CRITICAL_HOURS = 1
    with time_machine.travel(T0, tick=False):
        key = activated(account=tree.account_a1)
    with time_machine.travel(T0 + timedelta(minutes=61), tick=False):
        assert [k.pk for k in sweep().turned_critical] == [key.pk]


def test_a_second_sweep_finds_nothing_left(keys_at_t0, mailoutbox, django_capture_on_commit_callbacks):
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert sweep().count == 3
        with django_capture_on_commit_callbacks(execute=True):
            assert sweep().count == 0
    assert KeyEvent.objects.filter(new_state="critical").count() == 3
    assert len(mailoutbox) == 2


def test_one_email_per_sweep_per_organisation_listing_its_keys(
    tree, keys_at_t0, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(T0 + timedelta(days=4), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sweep(batch=1)  # several batches, still one email each
    by_recipients = {tuple(sorted(m.to)): m for m in mailoutbox}
    assert len(mailoutbox) == 2
    # Acme IT has portal access: its own users hear of its keys.
    acme = by_recipients[("msp-a1-member@example.test", "msp-a1@example.test")]
    assert acme.subject == "2 product keys turned Critical"
    assert keys_at_t0["a1_first"].key in acme.body and keys_at_t0["a1_second"].key in acme.body
    assert keys_at_t0["a3"].key not in acme.body
    assert "Alpha Dental" in acme.body and "FS01" in acme.body
    # Cobalt Services has none: its distributor manages its keys (billing-only users are left out).
    northwind = by_recipients[
        ("dist-a-member@example.test", "dist-a-readonly@example.test", "dist-a@example.test")
    ]
    assert northwind.subject == "1 product key turned Critical"
    assert keys_at_t0["a3"].key in northwind.body and "Cobalt Services" in northwind.body
    assert keys_at_t0["a1_first"].key not in northwind.body


def test_no_email_before_the_sweep_commits(keys_at_t0, mailoutbox, django_capture_on_commit_callbacks):
    with (
        time_machine.travel(T0 + timedelta(days=4), tick=False),
        django_capture_on_commit_callbacks() as callbacks,
    ):
        sweep()
        assert mailoutbox == []
    assert len(callbacks) == 1


def test_a_sweep_costs_the_same_queries_for_many_keys(tree, django_assert_max_num_queries):
    with time_machine.travel(T0, tick=False):
        for key in source(account=tree.account_a1, quantity=10) + source(
            account=tree.account_a3, quantity=10
        ):
            call(key, machine={"name": key.key, "hardware_id": key.key, "software_id": key.key})
    # 14: a batch per transition also looks for keys that called home since their index entry
    # (states.rearm), one SELECT however many keys.
    with time_machine.travel(T0 + timedelta(days=4), tick=False), django_assert_max_num_queries(14):
        assert len(sweep().turned_critical) == 20


def test_a_pending_deactivation_silent_past_the_offline_lease_becomes_final(tree):
    with time_machine.travel(T0, tick=False):
        key = activated(account=tree.account_a1)
        actions.request_deactivation(key=key, actor=Actor(user=tree.msp_a1_admin))
    with time_machine.travel(T0 + timedelta(days=29), tick=False):
        assert sweep().count == 0
    assert reload(key).state == State.DEACTIVATION_REQUESTED
    with time_machine.travel(T0 + timedelta(days=30, seconds=1), tick=False):
        result = sweep()
    assert [k.pk for k in result.lease_expired] == [key.pk]
    assert result.turned_critical == []
    assert reload(key).state == State.DEACTIVATED
    assert key.events.last().cause == "sweeper"
    assert replayed_state(key) == State.DEACTIVATED


def test_the_worker_command_runs_one_sweep(keys_at_t0, capsys):
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        call_command("worker", "--once")
    assert "3 key(s) turned Critical" in capsys.readouterr().out
    assert ProductKey.objects.filter(state=State.CRITICAL).count() == 3


def test_the_worker_sweeps_until_it_is_told_to_stop(keys_at_t0, capsys, monkeypatch):
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(worker.time, "sleep", nap)
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    before = signal.getsignal(signal.SIGTERM)
    with time_machine.travel(T0 + timedelta(days=4)):
        call_command("worker", "--interval", "0.5")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("3 key(s) turned Critical")
    assert len(out) == 1 and len(naps) == 2
    assert signal.getsignal(signal.SIGTERM) == before


def test_the_worker_outlives_a_failed_sweep(keys_at_t0, capsys, monkeypatch):
    sweeps = [OperationalError("the database is locked")]

    def flaky_sweep(**kwargs):
        if sweeps:
            raise sweeps.pop()
        os.kill(os.getpid(), signal.SIGTERM)
        return sweep(**kwargs)

    monkeypatch.setattr(worker, "sweep", flaky_sweep)
    monkeypatch.setattr(worker.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    with time_machine.travel(T0 + timedelta(days=4)):
        call_command("worker", "--interval", "0.5")
    assert capsys.readouterr().out.startswith("3 key(s) turned Critical")
    assert ProductKey.objects.filter(state=State.CRITICAL).count() == 3
