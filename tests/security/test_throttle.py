"""The wrong-password throttle: counts per email and per IP address in the cache."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.test import override_settings

from keyledger.security import throttle

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def fail(n: int, email: str = "a@example.com", ip: str = "192.0.2.1") -> throttle.Verdict:
    verdict = throttle.Verdict()
    for _ in range(n):
        verdict = throttle.register_failure(email=email, ip=ip)
    return verdict


def test_four_failures_lock_nothing():
    assert fail(4).allowed
    assert throttle.check(email="a@example.com", ip="192.0.2.1").allowed


def test_the_fifth_failure_locks_the_email_for_a_minute():
    with time_machine.travel(START, tick=False):
        verdict = fail(5)
        assert not verdict.allowed and verdict.locked_now and verdict.account_locked
        assert verdict.wait_seconds == 60
        assert throttle.check(email="a@example.com", ip="192.0.2.1").wait_seconds == 60
        # Another address does not get round it: the email is locked.
        assert not throttle.check(email="a@example.com", ip="198.51.100.7").allowed
    with time_machine.travel(START + timedelta(seconds=59), tick=False):
        assert throttle.check(email="a@example.com", ip=None).wait_seconds == 1
    with time_machine.travel(START + timedelta(seconds=60), tick=False):
        assert throttle.check(email="a@example.com", ip=None).allowed


def test_each_failure_after_a_lock_doubles_it_up_to_the_cap():
    waits = []
    at = START
    with time_machine.travel(at, tick=False) as clock:
        fail(4)
        for _ in range(9):
            verdict = fail(1)
            waits.append(verdict.wait_seconds)
            # The lock is waited out; the next try is wrong again.
            clock.move_to(datetime.now(UTC) + timedelta(seconds=verdict.wait_seconds))
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_failures_far_apart_are_forgotten():
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(10):
            assert fail(1).allowed
            clock.move_to(datetime.now(UTC) + timedelta(minutes=16))


def test_the_email_is_normalised_and_need_not_exist():
    fail(4, email="Nobody@Example.com ")
    assert not fail(1, email="nobody@example.com").allowed
    assert not throttle.check(email=" NOBODY@example.COM", ip=None).allowed


def test_reset_forgets_the_emails_failures_and_lock():
    fail(7)
    throttle.reset(email="a@example.com")
    assert throttle.check(email="a@example.com", ip=None).allowed
    # Counting starts again from nothing, and the lock starts again at a minute.
    assert fail(4).allowed
    assert fail(1).wait_seconds == 60


def test_one_address_failing_for_many_emails_is_paused_for_the_window():
    with time_machine.travel(START, tick=False):
        for i in range(49):
            assert fail(1, email=f"user{i}@example.com", ip="203.0.113.9").allowed
        verdict = fail(1, email="user49@example.com", ip="203.0.113.9")
        assert verdict.ip_locked and not verdict.account_locked and verdict.wait_seconds == 15 * 60
        assert not throttle.check(email="someone.else@example.com", ip="203.0.113.9").allowed
        assert throttle.check(email="someone.else@example.com", ip="203.0.113.10").allowed
        # A good sign-in clears the email, not the address.
        throttle.reset(email="user49@example.com")
        assert not throttle.check(email="user49@example.com", ip="203.0.113.9").allowed
    with time_machine.travel(START + timedelta(minutes=15), tick=False):
        assert throttle.check(email="someone.else@example.com", ip="203.0.113.9").allowed


@override_settings(
    KEYLEDGER_SIGN_IN_MAX_FAILURES=3,
    KEYLEDGER_SIGN_IN_LOCK_MINUTES=2,
    KEYLEDGER_SIGN_IN_MAX_LOCK_MINUTES=5,
    KEYLEDGER_SIGN_IN_MAX_FAILURES_PER_IP=4,
    KEYLEDGER_SIGN_IN_WINDOW_MINUTES=10,
)
def test_the_thresholds_are_settings():
    assert fail(2).allowed
    assert fail(1).wait_seconds == 120
    assert [throttle.lock_seconds(level) for level in (1, 2, 3)] == [120, 240, 300]
    assert fail(1, email="b@example.com").ip_locked  # the fourth failure from the address
    assert throttle.check(email="c@example.com", ip="192.0.2.1").wait_seconds == 600


def test_scopes_keep_separate_counts():
    for _ in range(5):
        throttle.register_failure(email="a@example.com", ip=None, scope="two-factor")
    assert not throttle.check(email="a@example.com", ip=None, scope="two-factor").allowed
    assert throttle.check(email="a@example.com", ip=None).allowed


def test_a_request_budget_refills_after_its_window():
    with time_machine.travel(START, tick=False):
        assert [throttle.allow_request(scope="t", identity="x", limit=2) for _ in range(3)] == [
            True,
            True,
            False,
        ]
    with time_machine.travel(START + timedelta(minutes=61), tick=False):
        assert throttle.allow_request(scope="t", identity="x", limit=2)
