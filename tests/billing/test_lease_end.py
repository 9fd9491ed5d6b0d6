"""A pending deactivation that lapses with the offline lease ends the active period at the
lease's end (last call home + lease), however late it is written down (SPEC §8)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from keyledger.audit.actor import Actor
from keyledger.billing.engine import Scope, key_months
from keyledger.billing.models import ActiveSpan
from keyledger.billing.months import Month
from keyledger.keys import actions
from keyledger.keys.models import ProductKey
from keyledger.keys.sweeper import sweep
from tests.billing.helpers import activated_at
from tests.keys.factories import OTHER_MACHINE, call, reload

State = ProductKey.State
LAST_CALL = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
LEASE_END = LAST_CALL + timedelta(days=30)  # 19 November, 09:00
NOVEMBER = Month(2026, 11)


@pytest.fixture
def pending(tree):
    """A key whose product last called home on 20 October, with Deactivate clicked after it."""
    key = activated_at(tree.account_a1, LAST_CALL - timedelta(days=40))
    call(key, now=LAST_CALL)
    actions.request_deactivation(
        key=key, actor=Actor(user=tree.msp_a1_admin), now=LAST_CALL + timedelta(hours=1)
    )
    return reload(key)


def november_days(tree, key) -> int:
    (row,) = key_months(NOVEMBER, Scope(path=tree.vendor.path, key_id=key.pk))
    return row.active_days


def assert_ended_at_the_lease_end(key, *, recorded_at):
    key = reload(key)
    assert key.state == State.DEACTIVATED
    event = key.events.order_by("at", "id").last()
    assert (event.transition, event.at, event.recorded_at) == ("lease_expired", LEASE_END, recorded_at)
    span = ActiveSpan.objects.get(key=key)
    assert (span.ended_at, span.ends_period, span.last_call_home_at) == (LEASE_END, True, LAST_CALL)


def test_a_sweep_two_days_late_still_ends_the_period_at_the_lease_end(tree, pending):
    late = LEASE_END + timedelta(days=2, hours=3)
    result = sweep(now=late)
    assert [k.pk for k in result.lease_expired] == [pending.pk]
    assert_ended_at_the_lease_end(pending, recorded_at=late)
    # 1 to 19 November: 19 days, not 21.
    assert november_days(tree, pending) == 19


def test_a_call_home_after_the_lease_end_finds_the_deactivation_final_at_the_lease_end(tree, pending):
    late = LEASE_END + timedelta(days=5)
    outcome = call(pending, now=late)
    assert outcome.active is False
    assert_ended_at_the_lease_end(pending, recorded_at=late)
    assert november_days(tree, pending) == 19


def test_another_machine_calling_after_the_lease_end_is_told_deactivated_not_in_use(tree, pending):
    outcome = call(pending, machine=OTHER_MACHINE, now=LEASE_END + timedelta(days=1))
    assert outcome.active is False
    assert_ended_at_the_lease_end(pending, recorded_at=LEASE_END + timedelta(days=1))


def test_deactivate_clicked_again_after_the_lease_end_makes_it_final_at_the_lease_end(tree, pending):
    late = LEASE_END + timedelta(days=3)
    actions.request_deactivation(key=pending, actor=Actor(user=tree.msp_a1_admin), now=late)
    assert_ended_at_the_lease_end(pending, recorded_at=late)


def test_withdrawing_after_the_lease_end_is_refused_and_changes_nothing(tree, pending):
    late = LEASE_END + timedelta(days=1)
    with pytest.raises(ValidationError, match="offline lease ended"):
        actions.withdraw_request(key=pending, actor=Actor(user=tree.msp_a1_admin), now=late)
    key = reload(pending)
    assert key.state == State.DEACTIVATION_REQUESTED and key.state_at(late) == State.DEACTIVATED
    sweep(now=late + timedelta(minutes=1))
    assert_ended_at_the_lease_end(pending, recorded_at=late + timedelta(minutes=1))


def test_reactivate_after_the_lease_end_asks_for_a_reactivation(tree, pending):
    late = LEASE_END + timedelta(days=1)
    key = actions.request_reactivation(key=pending, actor=Actor(user=tree.msp_a1_admin), now=late)
    assert key.state == State.REACTIVATION_REQUESTED
    assert november_days(tree, key) == 19


def test_a_move_after_the_lease_end_happens_after_the_deactivation(tree, pending):
    other = type(tree.account_a1).objects.create(msp=tree.msp_a1, name="Echo Clinic")
    late = LEASE_END + timedelta(days=1)
    actions.move_key(key=pending, account=other, site=None, actor=Actor(user=tree.msp_a1_admin), now=late)
    key = reload(pending)
    assert [e.transition for e in key.events.order_by("at", "id")][-2:] == ["lease_expired", "move"]
    (row,) = key_months(NOVEMBER, Scope(path=tree.vendor.path, key_id=key.pk))
    # Billed where it was when its period ended, not where it went afterwards.
    assert (row.active_days, row.account_id, row.deactivated_at) == (19, tree.account_a1.pk, LEASE_END)


def test_before_the_lease_end_the_request_waits_for_the_product(tree, pending):
    assert sweep(now=LEASE_END - timedelta(seconds=1)).count == 0
    assert reload(pending).state == State.DEACTIVATION_REQUESTED
