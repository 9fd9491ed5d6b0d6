"""The worker's billing step: it closes the month that ended, follows late events and makes
drafts final after the grace days; run again, it does nothing twice."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from keyledger.audit.actor import Actor
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements.schedule import months_to_close, run
from keyledger.keys.sweeper import sweep
from keyledger.testing.billing import LAST_CALL, NOVEMBER, lapsing_key, november


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 12, 1, 0, 5, tzinfo=UTC), tick=True) as traveller:
        yield traveller


def test_the_worker_closes_follows_and_finalises(tree, clock, settings):
    settings.KEYLEDGER_STATEMENT_GRACE_DAYS = 3
    november(tree)
    lapsing_key(tree.account_a1, last_call=LAST_CALL, actor=Actor(user=tree.msp_a1_admin))
    first = run()
    assert [(c.month, c.drafts, c.created) for c in first.closed] == [(NOVEMBER, 5, 5)]
    assert (first.refreshed, first.finalised) == (0, [])
    assert run().changed is False  # nothing new

    clock.shift(timedelta(hours=1))
    sweep()  # the lapsed lease is written down late
    second = run()
    assert (second.closed, second.refreshed, second.finalised) == ([], 2, [])
    assert Statement.objects.get(customer=tree.msp_a1).billable_count == 4

    clock.move_to(datetime(2026, 12, 4, 0, 1, tzinfo=UTC))
    third = run()
    assert len(third.finalised) == 5
    assert set(Statement.objects.values_list("status", flat=True)) == {"final"}
    assert run().changed is False


def test_the_worker_command_runs_the_billing_step_once(tree, clock):
    november(tree)
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert (
        "Statements: months closed: 2026-11 (5 draft(s)); 0 draft(s) brought up to date; 0 made final."
        in (out.getvalue())
    )


def test_which_months_are_closed(tree):
    now = datetime(2027, 3, 2, tzinfo=UTC)
    # A new installation starts with the last month.
    assert months_to_close(now) == [Month(2027, 2)]
    Statement.objects.create(issuer=tree.dist_a, customer=tree.msp_a1, month=Month(2026, 11).first_day)
    # A worker that was down catches up, three months at most.
    assert months_to_close(now) == [Month(2026, 12), Month(2027, 1), Month(2027, 2)]
    Statement.objects.create(issuer=tree.dist_a, customer=tree.msp_a1, month=Month(2027, 2).first_day)
    assert months_to_close(now) == []
