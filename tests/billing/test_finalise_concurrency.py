"""Finalising from several processes at once: real threads, each with its own database
connection (the pattern of tests/keys/test_concurrency.py). On PostgreSQL the draft's row
lock and the counter's row lock decide; on SQLite write transactions queue. Either way each
customer and month gets one final statement, and the numbers have no gap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from keyledger.audit.actor import Actor, Channel
from keyledger.billing.models import Statement, StatementCounter
from keyledger.billing.statements import close_month, finalise, finalise_due
from keyledger.organisations.models import Organisation
from keyledger.testing import concurrency
from keyledger.testing.billing import NOVEMBER, OCTOBER_FIRST, active_key, november
from keyledger.testing.tree import build_tree, make_org

LATER = datetime(2026, 12, 10, 10, tzinfo=UTC)


@pytest.fixture
def shared_database(final_statements_removable, tmp_path):
    """Each thread that calls the returned function gets its own connection to one database."""
    yield from concurrency.shared_database(tmp_path)


race = concurrency.race


def world():
    tree = build_tree()
    november(tree)
    for n in range(6):
        msp = make_org(parent=tree.dist_a, kind=Organisation.Kind.MSP, name=f"MSP {n}")
        active_key(msp.accounts.create(name=f"Account {n}"), OCTOBER_FIRST)
    return tree


@pytest.mark.postgres_only
def test_two_finalising_the_same_draft_make_one_final_statement(shared_database):
    tree = world()
    close_month(month=NOVEMBER, now=LATER)
    draft = Statement.objects.get(customer=tree.msp_a1, month=NOVEMBER.first_day)
    first, second = race(
        shared_database,
        lambda: finalise(statement=draft, actor=Actor(user=tree.dist_a_admin), now=LATER),
        lambda: finalise(statement=draft, actor=Actor(user=tree.dist_a_billing), now=LATER),
    )
    assert isinstance(first, Statement), first
    assert isinstance(second, Statement), second
    assert (first.pk, first.number, first.content_sha256) == (second.pk, second.number, second.content_sha256)
    assert first.number == "ND-2026-11-0001"
    assert StatementCounter.objects.get(issuer=tree.dist_a).last_number == 1


@pytest.mark.postgres_only
def test_two_workers_finalise_every_draft_once_without_a_gap(shared_database):
    tree = world()
    first_close, second_close = race(
        shared_database,
        lambda: close_month(month=NOVEMBER, now=LATER),
        lambda: close_month(month=NOVEMBER, now=LATER),
    )
    assert not isinstance(first_close, Exception), first_close
    assert not isinstance(second_close, Exception), second_close
    # Northwind, Acme, Bluebird and the six MSPs; Southgate and Dingo.
    assert Statement.objects.count() == 11
    first, second = race(shared_database, lambda: finalise_due(now=LATER), lambda: finalise_due(now=LATER))
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    made = [s.pk for s in [*first, *second]]
    assert len(made) == len(set(made)) == 11
    assert not Statement.objects.filter(status="draft").exists()
    numbers = sorted(Statement.objects.filter(issuer=tree.dist_a).values_list("number", flat=True))
    assert numbers == [f"ND-2026-11-{n:04d}" for n in range(1, 9)]
    assert StatementCounter.objects.get(issuer=tree.dist_a).last_number == 8
    assert {s.finalised_by_label for s in Statement.objects.all()} == {Channel.WORKER}
