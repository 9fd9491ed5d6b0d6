"""Deactivate racing a call home, from two connections at once, round after round.

Real threads, each with its own database connection, on PostgreSQL (row locks and
compare-and-set) and on SQLite (write transactions are IMMEDIATE, so they queue; the test
copies its in-memory database to a file, because threads sharing an in-memory database
share one cache and its table locks, which no production deployment does). Whichever
wins, the key ends in one state that agrees with what the product was told, and its
events replay to that state."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from keyledger.audit.actor import Actor
from keyledger.keys import actions
from keyledger.keys.models import KeyEvent, ProductKey, SourcingRequest
from keyledger.keys.sweeper import sweep
from keyledger.testing import concurrency
from keyledger.testing.tree import build_tree
from tests.keys.factories import MACHINE, call, product, reload, replayed_state, source

State = ProductKey.State
ROUNDS = 200


@pytest.fixture
def shared_database(transactional_db, tmp_path):
    """Each thread that calls the returned function gets its own connection to one database."""
    yield from concurrency.shared_database(tmp_path)


race = concurrency.race


@pytest.mark.postgres_only
def test_deactivate_racing_a_call_home_ends_consistent_every_round(shared_database):
    tree = build_tree()
    actor = Actor(user=tree.msp_a1_admin)
    keys = [source(account=tree.account_a1)[0] for _ in range(ROUNDS)]
    for key in keys:
        call(key)
    outcomes: Counter[str] = Counter()
    for key in keys:
        deactivated, answer = race(
            shared_database,
            lambda key=key: actions.request_deactivation(key=key, actor=actor),
            lambda key=key: call(key, machine=MACHINE),
        )
        assert isinstance(deactivated, ProductKey), deactivated
        assert not isinstance(answer, Exception), answer
        stored = reload(key)
        if answer.active:
            # The call home came first: the deactivation waits for the next one.
            assert stored.state == State.DEACTIVATION_REQUESTED
        else:
            assert stored.state == State.DEACTIVATED
        assert replayed_state(stored) == stored.state
        outcomes[stored.state] += 1
    assert sum(outcomes.values()) == ROUNDS
    assert KeyEvent.objects.filter(new_state=State.DEACTIVATION_REQUESTED).count() == ROUNDS
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.postgres_only
def test_two_sweepers_never_claim_the_same_key(shared_database, settings):
    tree = build_tree()
    settings.KEYLEDGER_CRITICAL_HOURS = 1
    keys = [k for _ in range(10) for k in source(account=tree.account_a1, quantity=10)]
    for key in keys:
        call(key, machine={"name": key.key, "hardware_id": key.key, "software_id": key.key})
    due = ProductKey.objects.first().last_call_home_at
    ProductKey.objects.update(critical_due_at=due, sweep_after=due)
    first, second = race(shared_database, lambda: sweep(batch=7), lambda: sweep(batch=7))
    claimed = [k.pk for k in first.turned_critical] + [k.pk for k in second.turned_critical]
    assert sorted(claimed) == sorted(k.pk for k in keys)
    assert KeyEvent.objects.filter(new_state=State.CRITICAL).count() == len(keys)


@pytest.mark.postgres_only
def test_a_double_clicked_add_keys_sources_once(shared_database):
    tree = build_tree()
    actor = Actor(user=tree.msp_a1_admin)

    def add_keys(click: str) -> list[ProductKey]:
        return actions.source_keys(
            product=product("spmsp"),
            quantity=3,
            account=tree.account_a1,
            site=None,
            fields={},
            actor=actor,
            idempotency_key=click,
        )

    for round_ in range(20):
        click = f"click-{round_}"
        first, second = race(shared_database, lambda c=click: add_keys(c), lambda c=click: add_keys(c))
        assert isinstance(first, list) and isinstance(second, list), (first, second)
        assert sorted(k.key for k in first) == sorted(k.key for k in second)
    assert ProductKey.objects.count() == 20 * 3
    assert SourcingRequest.objects.count() == 20
