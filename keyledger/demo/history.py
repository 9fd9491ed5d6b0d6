"""A past for product keys: sourced weeks ago, activated, calling home every day, some gone
silent, some deactivated and reactivated. Everything happens in time order through the
real actions and services with explicit times (source_keys, Deactivate, Reactivate, the
call-home service, the worker's sweep), so the events, billing and reports are those the real
flows would have produced. The clock is never changed."""

from __future__ import annotations

import heapq
import itertools
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from keyledger.audit.actor import Actor
from keyledger.billing.months import Month
from keyledger.customers.models import Account, Site
from keyledger.demo.fleet import Machine, machine_for, machine_name
from keyledger.keys import actions as key_actions
from keyledger.keys import sweeper
from keyledger.keys.models import Product, ProductKey

# The real sweeper runs every minute; twice a day is exact enough for a past measured in days.
SWEEP_EVERY = timedelta(hours=12)
# Products call home daily. Further back than this, every other day is the same history
# (a call that changes nothing writes no event; 48 hours stay inside the critical threshold)
# at half the cost.
DAILY_FOR_DAYS = 14


@dataclass(frozen=True)
class Plan:
    """A key's life, in days before now. deactivate/reactivate 0: clicked after the last call
    home, so the request is still pending."""

    sourced: int
    activated: int | None = None
    silent_since: int = 0  # the day of the last call home
    deactivate: int | None = None
    reactivate: int | None = None

    @property
    def stops_after_deactivation(self) -> bool:
        # A product deactivated for good is uninstalled; one to be reactivated keeps asking.
        return self.deactivate is not None and self.reactivate is None and self.deactivate > 0


PLANS = {
    "steady": Plan(sourced=88, activated=86),
    "established": Plan(sourced=60, activated=57),
    "recent": Plan(sourced=12, activated=10),
    "new": Plan(sourced=3, activated=1),
    "unused": Plan(sourced=20),
    "critical": Plan(sourced=62, activated=60, silent_since=4),
    "offline": Plan(sourced=84, activated=80, silent_since=36),
    "deactivated": Plan(sourced=88, activated=85, deactivate=47),
    "reactivated": Plan(sourced=88, activated=84, deactivate=44, reactivate=21),
    "deactivation_requested": Plan(sourced=70, activated=68, deactivate=0),
    "reactivation_requested": Plan(sourced=88, activated=82, deactivate=30, reactivate=0),
}


@dataclass(frozen=True)
class Edge:
    """A key's life pinned to the billing calendar instead of to days before now, so that the
    demo always has keys just either side of the billable line (SPEC §8's examples) in the
    month that ended last. `activate` and `deactivate` (when the deactivation is final) take
    the month that ended last and give an instant."""

    activate: Callable[[Month], datetime]
    deactivate: Callable[[Month], datetime] | None = None

    def sourced(self, now: datetime) -> int:
        return (now - self.activate(Month.of(now).previous)).days + 2


def _day(day: int, hours: float = 0) -> Callable[[Month], datetime]:
    """The instant `hours` into day `day` of the month (negative days: before the month)."""
    return lambda month: month.start + timedelta(days=day - 1, hours=hours)


EDGES = {
    # Activated a minute before the last 14 days of the month began: 15 active days, billable
    # (in a 31-day month, the 17th at 23:59). At that midnight: 14 days, not billable.
    "edge_billable": Edge(activate=lambda m: m.day_starts[-15] - timedelta(minutes=1)),
    "edge_not_billable": Edge(activate=lambda m: m.day_starts[-15]),
    # Active since the month before; the deactivation final on the 14th at 10:00 (14 days), or
    # on the 15th a second after midnight (15 days: "deactivate before the 15th").
    "edge_deactivated_14th": Edge(
        activate=_day(-20, 9), deactivate=lambda m: m.day_starts[13] + timedelta(hours=10)
    ),
    "edge_deactivated_15th": Edge(
        activate=_day(-20, 9), deactivate=lambda m: m.day_starts[14] + timedelta(seconds=1)
    ),
}


@dataclass
class Sourcing:
    """One Add Key(s) request: one key per plan, each key on its own machine."""

    account: Account
    site: Site | None
    product: Product
    plans: tuple[Plan | Edge, ...]
    actor: Actor
    edition: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    machine_names: tuple[str, ...] = ()  # one per plan; empty: named after the account

    def sourced(self, now: datetime) -> int:
        # One request for all its keys: as long ago as the oldest of them needs.
        return max(plan.sourced(now) if isinstance(plan, Edge) else plan.sourced for plan in self.plans)


class Timeline:
    """Steps run in time order; a step may schedule later ones."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._queue: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self._order = itertools.count()

    def at(self, when: datetime, step: Callable[[datetime], None]) -> None:
        if when <= self.now:
            heapq.heappush(self._queue, (when, next(self._order), step))

    def run(self, on_step: Callable[[datetime], None] | None = None) -> None:
        while self._queue:
            when, _, step = heapq.heappop(self._queue)
            step(when)
            if on_step is not None:
                on_step(when)


def _minutes(text: str, low: int, high: int) -> int:
    """A stable spread of times of day (the demo is the same on every run, but not uniform)."""
    return low + zlib.crc32(text.encode()) % (high - low)


def _sweep(now: datetime) -> None:
    sweeper.sweep(now=now)  # what `keyledger worker` does every minute


def play(
    sourcings: list[Sourcing], *, now: datetime, on_step: Callable[[datetime], None] | None = None
) -> list[Machine]:
    """Write the history of the keys of `sourcings`, ending at `now`; `on_step` is told the
    time reached after each step. Returns the machine of every key (those never activated
    included), for callers that keep them calling home."""
    if not sourcings:
        return []
    timeline = Timeline(now)
    machines: list[Machine] = []
    sweep_at = now - timedelta(days=max(s.sourced(now) for s in sourcings))
    while sweep_at <= now:
        timeline.at(sweep_at, _sweep)
        sweep_at += SWEEP_EVERY
    timeline.at(now, _sweep)
    for number, sourcing in enumerate(sourcings):
        when = now - timedelta(days=sourcing.sourced(now), minutes=_minutes(f"source{number}", 600, 900))
        timeline.at(when, lambda at, s=sourcing: _source(timeline, s, at, machines))
    timeline.run(on_step)
    return machines


def _source(timeline: Timeline, sourcing: Sourcing, at: datetime, machines: list[Machine]) -> None:
    keys = key_actions.source_keys(
        product=sourcing.product,
        quantity=len(sourcing.plans),
        account=sourcing.account,
        site=sourcing.site,
        fields=sourcing.fields,
        actor=sourcing.actor,
        now=at,
    )
    taken = ProductKey.objects.filter(account=sourcing.account, product=sourcing.product).count() - len(keys)
    for index, (key, plan) in enumerate(zip(keys, sourcing.plans, strict=True)):
        name = (
            (sourcing.machine_names[index] if sourcing.machine_names else "")
            or sourcing.fields.get("exchange_server_name")
            or machine_name(sourcing.account.name, sourcing.product.code, sourcing.edition, taken + index + 1)
        )
        machine = machine_for(key, name=name, edition=sourcing.edition)
        machines.append(machine)
        if isinstance(plan, Edge):
            _schedule_edge(timeline, key, machine, plan, sourcing.actor)
        elif plan.activated is not None:
            _schedule(timeline, key, machine, plan, sourcing.actor)


def _schedule(timeline: Timeline, key: ProductKey, machine: Machine, plan: Plan, actor: Actor) -> None:
    now = timeline.now
    offset = _minutes(key.key, 60, 600)  # each product calls home at its own time of day

    def day(days_ago: int, minutes: int = 0) -> datetime:
        return now - timedelta(days=days_ago, minutes=offset + minutes)

    assert plan.activated is not None
    last_day = plan.deactivate if plan.stops_after_deactivation else plan.silent_since
    for days_ago in range(plan.activated, last_day - 1, -1):
        # The first and last calls, and those that make a request final, are never skipped.
        marked = days_ago in (plan.activated, last_day, plan.deactivate, plan.reactivate)
        if marked or days_ago <= DAILY_FOR_DAYS or (plan.activated - days_ago) % 2 == 0:
            timeline.at(day(days_ago), lambda at: machine.call_home_at(at))
    # Clicked half an hour before the day's call home, which makes it final; on day 0, after it.
    if plan.deactivate is not None:
        when = day(plan.deactivate, 30) if plan.deactivate else now - timedelta(minutes=5)
        timeline.at(when, lambda at: key_actions.request_deactivation(key=key, actor=actor, now=at))
    if plan.reactivate is not None:
        when = day(plan.reactivate, 30) if plan.reactivate else now - timedelta(minutes=4)
        timeline.at(when, lambda at: key_actions.request_reactivation(key=key, actor=actor, now=at))


def _schedule_edge(timeline: Timeline, key: ProductKey, machine: Machine, plan: Edge, actor: Actor) -> None:
    """Activation at the planned instant, a call home every day at that time of day, and the
    deactivation (clicked half an hour before) final at its planned instant."""
    last_month = Month.of(timeline.now).previous
    start = plan.activate(last_month)
    end = plan.deactivate(last_month) if plan.deactivate else timeline.now
    when = start
    while when < end:
        timeline.at(when, lambda at: machine.call_home_at(at))
        when += timedelta(days=1)
    if plan.deactivate is not None:
        timeline.at(
            end - timedelta(minutes=30),
            lambda at: key_actions.request_deactivation(key=key, actor=actor, now=at),
        )
        timeline.at(end, lambda at: machine.call_home_at(at))
