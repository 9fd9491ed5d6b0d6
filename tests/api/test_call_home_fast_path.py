"""The steady call home's one UPDATE and its fallback to the locked path: every answer, event
and audit row as the locked path alone would give them (keyledger/keys/call_home.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.keys import actions
from keyledger.keys.call_home import InvalidField, KeyInUse, WrongProduct
from keyledger.keys.models import KeyEvent, Product, ProductKey
from keyledger.keys.sweeper import sweep
from tests.keys.factories import OTHER_MACHINE, activated, call, reload, replayed_state, source

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=5)
State = ProductKey.State


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The first word of each statement; on PostgreSQL the steady UPDATE is prepared once per
    connection and then run with EXECUTE, named here as the UPDATE it is."""
    words = []
    for query in queries.captured_queries:
        word = query["sql"].split()[0]
        if word == "PREPARE":
            assert query["sql"].split()[3] == "UPDATE"
            continue
        words.append("UPDATE" if query["sql"].startswith("EXECUTE keyledger_call_home_") else word)
    return words


def steady(key: ProductKey, **overrides) -> CaptureQueriesContext:
    """Call home at LATER; the queries it ran."""
    with time_machine.travel(LATER, tick=False), CaptureQueriesContext(connection) as queries:
        outcome = call(key, **overrides)
    assert outcome.at == LATER
    return queries


@pytest.fixture
def key(tree) -> ProductKey:
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
        # Once more: a fallback may have found the process's catalog out of date (another
        # test changed it) and this call reads it again, as a process's first call home does.
        call(key)
    return reload(key)


def test_a_steady_call_home_is_one_update_and_writes_what_the_product_reports(key):
    queries = steady(key, version="5.3.0", os="Windows Server 2025")
    assert statements(queries) == ["UPDATE"]
    after = reload(key)
    assert (after.version, after.os, after.last_call_home_at) == ("5.3.0", "Windows Server 2025", LATER)
    assert after.critical_due_at == LATER + timedelta(hours=72)
    # The sweeper's index entry is left where it was (a HOT update on PostgreSQL).
    assert after.sweep_after == key.sweep_after
    assert after.state == State.OK and after.activated_at == key.activated_at
    assert KeyEvent.objects.filter(key=key).count() == 2  # sourced, activated
    outcome = call(key)
    assert outcome.active and outcome.key == key.key
    assert outcome.lease_expires_at == outcome.at + timedelta(days=30)


def test_a_first_call_home_falls_back_and_activates_with_its_event_and_audit(tree):
    with time_machine.travel(NOW, tick=False):
        (key,) = source(account=tree.account_a1)
        call(source(account=tree.account_a1)[0])  # the catalog read
        with CaptureQueriesContext(connection) as queries:
            outcome = call(key)
    assert statements(queries)[0] == "UPDATE"  # changed nothing: the key is unused
    assert outcome.active and outcome.lease_expires_at == NOW + timedelta(days=30)
    key = reload(key)
    assert key.state == State.OK and key.machine_name == "FS01" and key.activated_at == NOW
    assert key.sweep_after == key.critical_due_at == NOW + timedelta(hours=72)
    assert replayed_state(key) == State.OK
    assert AuditEntry.objects.filter(action="key.activate", object_id=str(key.pk)).count() == 1


def test_another_machine_is_refused_and_writes_nothing(key):
    with pytest.raises(KeyInUse):
        steady(key, machine=OTHER_MACHINE)
    after = reload(key)
    assert after.last_call_home_at == NOW and after.machine_name == "FS01"


def test_the_same_machine_by_one_identifier_is_steady(key):
    queries = steady(key, machine={"name": "FS01-RENAMED", "hardware_id": "HW-NEW", "software_id": "SW-0001"})
    assert statements(queries) == ["UPDATE"]
    assert reload(key).machine_name == "FS01"  # the bound machine is not rewritten


def test_a_deactivated_key_falls_back_and_hears_deactivated(tree, key):
    with time_machine.travel(NOW, tick=False):
        actions.request_deactivation(key=key, actor=Actor(user=tree.msp_a1_admin))
        call(key)
    assert reload(key).state == State.DEACTIVATED
    with time_machine.travel(LATER, tick=False):
        outcome = call(key)
    assert not outcome.active and outcome.lease_expires_at is None
    assert reload(key).state == State.DEACTIVATED
    assert KeyEvent.objects.filter(key=key).count() == 4  # no event for hearing it


def test_a_pending_reactivation_falls_back_and_binds_the_next_machine(tree, key):
    with time_machine.travel(NOW, tick=False):
        actions.request_deactivation(key=key, actor=Actor(user=tree.msp_a1_admin))
        call(key)
        actions.request_reactivation(key=key, actor=Actor(user=tree.msp_a1_admin))
    with time_machine.travel(LATER, tick=False):
        outcome = call(key, machine=OTHER_MACHINE)
    assert outcome.active
    key = reload(key)
    assert key.state == State.OK and key.machine_name == OTHER_MACHINE["name"]
    assert KeyEvent.objects.filter(key=key).last().transition == "finalise_reactivation"
    assert replayed_state(key) == State.OK


def test_a_pending_deactivation_falls_back_and_becomes_final_with_its_event(tree, key):
    with time_machine.travel(NOW, tick=False):
        actions.request_deactivation(key=key, actor=Actor(user=tree.msp_a1_admin))
    with time_machine.travel(LATER, tick=False):
        outcome = call(key)
    assert not outcome.active
    key = reload(key)
    assert key.state == State.DEACTIVATED and key.sweep_after is None and key.critical_due_at is None
    assert KeyEvent.objects.filter(key=key).last().transition == "finalise_deactivation"
    assert AuditEntry.objects.filter(action="key.finalise_deactivation", object_id=str(key.pk)).exists()
    assert replayed_state(key) == State.DEACTIVATED


def test_a_critical_key_falls_back_and_recovers_with_its_event(key):
    with time_machine.travel(NOW + timedelta(days=4), tick=False):
        sweep()
    assert reload(key).state == State.CRITICAL
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        assert call(key).active
    key = reload(key)
    assert key.state == State.OK and KeyEvent.objects.filter(key=key).last().transition == "recover"
    assert key.sweep_after == key.critical_due_at == NOW + timedelta(days=5, hours=72)


def test_another_edition_falls_back_and_writes_its_event(key):
    queries = steady(key, edition="vm")
    assert statements(queries)[:2] == ["UPDATE", "SELECT"]
    key = reload(key)
    assert key.edition == "vm" and KeyEvent.objects.filter(key=key).last().transition == "report_edition"


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"edition": None}, InvalidField),  # spmsp reports its edition
        ({"edition": "enterprise"}, InvalidField),
        ({"product": "gre"}, WrongProduct),
        ({"product": "nonesuch"}, WrongProduct),
        ({"jobs_in_use": {"shadowstream": 1}}, InvalidField),
    ],
)
def test_a_refused_report_writes_nothing(key, overrides, refusal):
    with pytest.raises(refusal):
        steady(key, **overrides)
    assert reload(key).last_call_home_at == NOW


def test_job_licenses_within_what_the_key_holds_are_steady_and_beyond_fall_back_to_a_refusal(tree):
    with time_machine.travel(NOW, tick=False):
        (key,) = source(account=tree.account_a1, code="imagemanager", fields={"shadowstream": 3})
        call(key)
        call(key)  # the catalog read again if a fallback found it out of date
    queries = steady(key, jobs_in_use={"shadowstream": 3, "headstart": 0})
    assert statements(queries) == ["UPDATE"]
    assert reload(key).jobs_in_use == {"shadowstream": 3, "headstart": 0}
    for jobs in ({"shadowstream": 4}, {"headstart": 1}, {"nonesuch": 0}):
        with pytest.raises(InvalidField):
            steady(key, jobs_in_use=jobs)
    assert reload(key).jobs_in_use == {"shadowstream": 3, "headstart": 0}


def test_a_catalog_changed_since_it_was_read_is_never_checked_against_the_old_rules(key):
    product = Product.objects.get(code="spmsp")
    product.editions = [e for e in product.editions if e["code"] != "server"]
    product.save(update_fields=["editions"])
    with pytest.raises(InvalidField):
        steady(key)  # "server" is no edition of spmsp any more
    assert reload(key).last_call_home_at == NOW
    product.editions = [*product.editions, {"code": "server", "label": "Server (renamed)"}]
    product.save(update_fields=["editions"])
    steady(key)  # falls back once, and the catalog is read again
    with time_machine.travel(LATER + timedelta(hours=1), tick=False), CaptureQueriesContext(connection) as q:
        call(key)
    assert statements(q) == ["UPDATE"]
    assert reload(key).last_call_home_at == LATER + timedelta(hours=1)


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL sessions")


@contextmanager
def connections_other() -> Iterator[Any]:
    """A cursor on a second connection to the same database."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            yield cursor
    finally:
        other.close()


@postgresql_only
def test_a_session_that_lost_the_prepared_update_prepares_it_again(transactional_db, tree):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
        call(key)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pool's reset does
    assert statements(steady(key)) == ["UPDATE", "UPDATE"]  # refused by name, then prepared again
    assert reload(key).last_call_home_at == LATER


@postgresql_only
def test_a_connection_the_server_ended_is_replaced_without_a_health_check_query(transactional_db, tree):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
        call(key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with connections_other() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.health_check_enabled = True
    connection.health_check_done = False  # as at the start of a request
    queries = steady(key)
    assert "SELECT" not in statements(queries)
    assert reload(key).last_call_home_at == LATER
