"""The billing engine against a deliberately naive reference, on random histories.

Hypothesis writes histories through the real actions and call home (activations,
Deactivate and Reactivate, withdrawn requests, sweeps that find lapsed leases, moves,
edition changes) at any second, across month ends, leap February, 28- to 31-day months,
several changes within a day, and billing time zones with daylight-saving changes. The
reference reads only the keys' events: it walks every calendar day of the month in the
billing time zone and asks whether the key was active at any moment of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from keyledger.audit.actor import Actor
from keyledger.billing.engine import Scope, key_months
from keyledger.billing.months import Month
from keyledger.keys import actions
from keyledger.keys.call_home import KeyInUse
from keyledger.keys.models import KeyEvent, ProductKey
from keyledger.keys.sweeper import sweep
from tests.billing.helpers import sourced_at
from tests.keys.factories import OTHER_MACHINE, call

ACTIVE = ProductKey.ACTIVE_STATES
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]
# Each window starts a few days before a month end and spans several months: leap February
# 2028 with the March daylight-saving change, and the October/November changes of 2027.
WINDOWS = [datetime(2028, 1, 27, tzinfo=UTC), datetime(2027, 9, 26, tzinfo=UTC)]
WINDOW_DAYS = 110


# ---------------------------------------------------------------- the naive reference


@dataclass(frozen=True)
class Expected:
    active_days: int
    billable: bool
    edition: str
    account_id: int
    site_id: int | None
    activated_at: datetime
    deactivated_at: datetime | None


def reference(events: list[KeyEvent], month: Month, zone: ZoneInfo, threshold: int) -> Expected | None:
    """Walk the month day by day: was the key active at any moment of the day?"""
    intervals: list[tuple[datetime, datetime | None, KeyEvent | None]] = []  # [on, off), closing event
    on: datetime | None = None
    for change in events:  # in (at, id) order
        if change.new_state in ACTIVE and on is None:
            on = change.at
        elif change.new_state not in ACTIVE and on is not None:
            intervals.append((on, change.at, change))
            on = None
    if on is not None:
        intervals.append((on, None, None))
    intervals = [(s, e, c) for s, e, c in intervals if e is None or e > s]

    first = date(month.year, month.month, 1)
    start = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=zone).astimezone(UTC)
    days = 0
    day = first
    while day < nxt:
        following = day + timedelta(days=1)
        day_start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        day_end = datetime(following.year, following.month, following.day, tzinfo=zone).astimezone(UTC)
        if any(s < day_end and (e is None or e > day_start) for s, e, _ in intervals):
            days += 1
        day = following
    if days == 0:
        return None
    in_month = [(s, e, c) for s, e, c in intervals if s < end and (e is None or e > start)]
    _, e, closing = in_month[-1]
    if e is not None and e <= end:
        where = closing  # billed where it was when its last period ended
        deactivated = e
    else:
        where = [ev for ev in events if ev.at < end][-1]
        deactivated = None
    return Expected(
        active_days=days,
        billable=days > threshold,
        edition=where.edition,
        account_id=where.account_id,
        site_id=where.site_id,
        activated_at=in_month[0][0],
        deactivated_at=deactivated,
    )


# ---------------------------------------------------------------- random histories

OPERATIONS = [
    "call",
    "call",
    "call",
    "deactivate",
    "reactivate",
    "withdraw",
    "sweep",
    "move",
    "edition",
    "other",
    "lapse",
]
LEASE = timedelta(days=30)
gaps = st.one_of(
    st.just(0),  # the same second
    st.integers(1, 3_600),  # within the hour
    st.integers(3_600, 3 * 86_400),  # a few days
    st.integers(3 * 86_400, 35 * 86_400),  # past the critical threshold or the lease
)
steps = st.lists(st.tuples(st.integers(0, 1), st.sampled_from(OPERATIONS), gaps), min_size=4, max_size=30)


def run(step: str, key: ProductKey, at: datetime, places: list, actor: Actor) -> datetime:
    """Do `step` at `at`; returns the time reached (a lapse waits for the lease to end)."""
    if step == "lapse" and key.last_call_home_at is not None:
        # Deactivate, then the product stays silent past its lease, and the sweep that
        # writes the lapse down runs up to three days late.
        run("deactivate", key, at, places, actor)
        late = at - key.last_call_home_at if at > key.last_call_home_at else timedelta(0)
        at = max(at, key.last_call_home_at + LEASE) + timedelta(seconds=int(late.total_seconds()) % 259_200)
        run("sweep", key, at, places, actor)
        return at
    try:
        if step == "call":
            call(key, now=at)
        elif step == "edition":
            call(key, now=at, edition="desktop" if key.edition == "server" else "server")
        elif step == "other":
            call(key, now=at, machine=OTHER_MACHINE)
        elif step == "deactivate":
            actions.request_deactivation(key=key, actor=actor, now=at)
        elif step == "reactivate":
            actions.request_reactivation(key=key, actor=actor, now=at)
        elif step == "withdraw":
            actions.withdraw_request(key=key, actor=actor, now=at)
        elif step == "sweep":
            sweep(now=at)
        elif step == "move":
            account, site = places[int(at.timestamp()) % len(places)]
            actions.move_key(key=key, account=account, site=site, actor=actor, now=at)
    except (ValidationError, KeyInUse):
        pass  # refused as the rules say; nothing was written
    return at


@pytest.mark.django_db
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    window=st.sampled_from(WINDOWS),
    zone=st.sampled_from(ZONES),
    history=steps,
    threshold=st.sampled_from([14, 3]),
)
def test_the_engine_agrees_with_the_day_by_day_reference(tree, window, zone, history, threshold):
    places = [(tree.account_a1, None), (tree.account_a1, tree.site_a1), (tree.account_a1, None)]
    other = type(tree.account_a1).objects.get_or_create(msp=tree.msp_a1, name="Echo Clinic")[0]
    places.append((other, None))
    actor = Actor(user=tree.msp_a1_admin)
    keys = [sourced_at(tree.account_a1, window) for _ in range(2)]
    at = window + timedelta(hours=1)
    for which, step, gap in history:
        at += timedelta(seconds=gap)
        if at > window + timedelta(days=WINDOW_DAYS - 1):
            break
        at = run(step, ProductKey.objects.get(pk=keys[which].pk), at, places, actor)

    with override_settings(KEYLEDGER_BILLING_TIME_ZONE=zone, KEYLEDGER_BILLABLE_AFTER_DAYS=threshold):
        first = Month.of(window)
        months = [first]
        while months[-1].end < window + timedelta(days=WINDOW_DAYS):
            months.append(months[-1].next)
        for key in keys:
            events = list(KeyEvent.objects.filter(key=key).order_by("at", "id"))
            for month in months:
                rows = key_months(month, Scope(path=tree.vendor.path, key_id=key.pk))
                expected = reference(events, month, ZoneInfo(zone), threshold)
                if expected is None:
                    assert rows == [], (month, zone)
                    event("no active day")
                    continue
                event("billable" if expected.billable else "active, not billable")
                if expected.deactivated_at is not None:
                    event("deactivated in the month")
                if any(e.transition == "lease_expired" and e.recorded_at > e.at for e in events):
                    event("a lease lapse written down late")
                (row,) = rows
                got = Expected(
                    active_days=row.active_days,
                    billable=row.billable,
                    edition=row.edition,
                    account_id=row.account_id,
                    site_id=row.site_id,
                    activated_at=row.activated_at,
                    deactivated_at=row.deactivated_at,
                )
                assert got == expected, (
                    str(month),
                    zone,
                    [(e.at, e.transition, e.new_state) for e in events],
                )
