"""A key's whole life, driven by Hypothesis: people's requests, call homes from the bound
machine and from others, sweeps, and time passing. A small model of SPEC §6 and §7 says what
must happen; the database must agree, and the key's events must replay to its state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from keyledger.audit.actor import Actor
from keyledger.keys import actions, states
from keyledger.keys.call_home import KeyInUse
from keyledger.keys.models import KeyEvent, ProductKey
from keyledger.keys.sweeper import sweep
from tests.keys.factories import call, reload, replayed_state, source

State = ProductKey.State
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CRITICAL = timedelta(hours=72)
LEASE = timedelta(days=30)
# (name, hardware_id, software_id). The last shares a hardware id with the first: the same machine.
MACHINES = [
    ("FS01", "HW1", "SW1"),
    ("FS02", "HW2", "SW2"),
    ("FS03", "HW3", "SW3"),
    ("FS01-NEW", "HW1", "SW9"),
]
ACTIVE = {State.OK, State.CRITICAL, State.DEACTIVATION_REQUESTED}
LABELS = {
    State.UNUSED: "Not activated",
    State.OK: "OK",
    State.CRITICAL: "Critical",
    State.DEACTIVATION_REQUESTED: "Deactivation requested \u2013 still active",
    State.DEACTIVATED: "Deactivated",
    State.REACTIVATION_REQUESTED: "Reactivation requested",
}


def same_machine(a: tuple[str, str, str], b: tuple[str, str, str]) -> bool:
    return any(x == y for x, y in zip(a, b, strict=True))


class KeyLifecycle(RuleBasedStateMachine):
    def __init__(self, tree) -> None:
        super().__init__()
        self.tree = tree
        self.actor = Actor(user=tree.msp_a1_admin)
        self.clock = time_machine.travel(START, tick=False)
        self.traveller = self.clock.start()

    def teardown(self) -> None:
        self.clock.stop()

    @initialize()
    def source_a_key(self) -> None:
        (self.key,) = source(account=self.tree.account_a1)
        self.state: str = State.UNUSED
        self.bound: tuple[str, str, str] | None = None
        self.last: datetime | None = None

    @property
    def now(self) -> datetime:
        return timezone.now()

    @rule(hours=st.integers(min_value=1, max_value=24 * 40))
    def time_passes(self, hours: int) -> None:
        self.traveller.shift(timedelta(hours=hours))

    @rule(machine=st.sampled_from(MACHINES))
    def call_home(self, machine: tuple[str, str, str]) -> None:
        name, hardware_id, software_id = machine
        if self.state == State.DEACTIVATION_REQUESTED and self.now - self.last > LEASE:
            # The deactivation lapsed with the lease before this call: final at the lease's end.
            self.state = State.DEACTIVATED
        expect_in_use = self.state in ACTIVE and not same_machine(machine, self.bound)
        try:
            outcome = call(
                self.key, machine={"name": name, "hardware_id": hardware_id, "software_id": software_id}
            )
        except KeyInUse:
            assert expect_in_use
            return
        assert not expect_in_use
        if self.state in (State.UNUSED, State.REACTIVATION_REQUESTED):
            self.state, self.bound = State.OK, machine
        elif self.state == State.DEACTIVATION_REQUESTED:
            self.state = State.DEACTIVATED
        elif self.state == State.CRITICAL:
            self.state = State.OK
        if self.state != State.DEACTIVATED or same_machine(machine, self.bound):
            self.last = self.now
        assert outcome.active == (self.state in ACTIVE)

    @rule()
    def sweep(self) -> None:
        sweep()
        if self.state == State.OK and self.now - self.last > CRITICAL:
            self.state = State.CRITICAL
        elif self.state == State.DEACTIVATION_REQUESTED and self.now - self.last > LEASE:
            self.state = State.DEACTIVATED

    def _active_again(self) -> str:
        return State.CRITICAL if self.now - self.last > CRITICAL else State.OK

    @rule()
    def deactivate(self) -> None:
        expected = {
            State.OK: State.DEACTIVATION_REQUESTED,
            State.CRITICAL: State.DEACTIVATION_REQUESTED,
            State.DEACTIVATION_REQUESTED: State.DEACTIVATION_REQUESTED,
            State.REACTIVATION_REQUESTED: State.DEACTIVATED,
        }.get(self.state)
        if expected == State.DEACTIVATION_REQUESTED and self.now - self.last > LEASE:
            expected = State.DEACTIVATED
        self._request(actions.request_deactivation, expected)

    @rule()
    def reactivate(self) -> None:
        expected = {
            State.DEACTIVATED: State.REACTIVATION_REQUESTED,
            State.REACTIVATION_REQUESTED: State.REACTIVATION_REQUESTED,
        }.get(self.state)
        if self.state == State.DEACTIVATION_REQUESTED:
            # Past the lease the deactivation is final already: Reactivate asks anew.
            lapsed = self.now - self.last > LEASE
            expected = State.REACTIVATION_REQUESTED if lapsed else self._active_again()
        self._request(actions.request_reactivation, expected)

    @rule()
    def withdraw(self) -> None:
        expected = {State.REACTIVATION_REQUESTED: State.DEACTIVATED}.get(self.state)
        if self.state == State.DEACTIVATION_REQUESTED:
            if self.now - self.last > LEASE:
                # Too late to withdraw: the deactivation became final when the lease ended.
                # The refusal writes nothing; the sweep or the next call home records the lapse.
                self._request(actions.withdraw_request, None)
                assert reload(self.key).state_at(self.now) == State.DEACTIVATED
                return
            expected = self._active_again()
        self._request(actions.withdraw_request, expected)

    def _request(self, action, expected: str | None) -> None:
        try:
            key = action(key=self.key, actor=self.actor)
        except ValidationError:
            assert expected is None, f"{action.__name__} refused from {self.state}"
            return
        assert expected is not None, f"{action.__name__} accepted from {self.state}"
        assert key.state == expected
        self.state = expected

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        key = reload(self.key)
        assert key.state == self.state
        assert key.status_label == LABELS[self.state]
        assert key.is_billed_state == (self.state in ACTIVE)
        assert key.last_call_home_at == self.last

    @invariant()
    def at_most_one_bound_machine(self) -> None:
        key = reload(self.key)
        machine = (key.machine_name, key.machine_hardware_id, key.machine_software_id)
        if self.bound is None:
            assert machine == (None, None, None) and key.activated_at is None
        else:
            assert machine == self.bound

    @invariant()
    def the_sweeper_is_due_exactly_when_it_has_work(self) -> None:
        key = reload(self.key)
        due = {State.OK: CRITICAL, State.DEACTIVATION_REQUESTED: LEASE}.get(self.state)
        assert key.critical_due_at == (self.last + due if due else None)
        # The sweeper's index holds a bound that is never later than the due time, so the
        # sweep never finds a key late; it is None exactly when there is nothing to sweep.
        assert (key.sweep_after is None) == (key.critical_due_at is None)
        assert key.sweep_after is None or key.sweep_after <= key.critical_due_at

    @invariant()
    def events_replay_to_the_stored_state(self) -> None:
        assert replayed_state(self.key) == self.state

    @invariant()
    def every_event_is_a_named_transition(self) -> None:
        for old, new in KeyEvent.objects.filter(key=self.key).values_list("old_state", "new_state"):
            assert any(old in t.sources and new in t.targets for t in states.TRANSITIONS), (old, new)


def test_key_lifecycle(tree):
    run_state_machine_as_test(
        lambda: KeyLifecycle(tree),
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
