"""The key histories of the synthetic dataset: each kind is the sequence of events the state
machine (keyledger.keys.states) writes for it, and the active spans those events imply
(keyledger.billing.spans).

Times are whole seconds. A step happens at the key's activation `a` plus `mult` times its
gap `g` plus `extra` (anchor "act"), at the dataset's `now` less `extra` (anchor "now"), or
when the key was sourced (anchor "src"); gaps are at least a day and extras a few hours, so
the steps of a key follow one another. The lease's end is the one longer extra, and only on
the last step of a history.
"""

from __future__ import annotations

from dataclasses import dataclass

from keyledger.keys.models import ProductKey

State = ProductKey.State
DAY = 86400
HOUR = 3600
# The largest `mult` of any step: the gaps are sized so that a + (MAX_MULT + 1) * g fits.
MAX_MULT = 5


@dataclass(frozen=True)
class Step:
    transition: str
    old: str
    new: str
    cause: str
    anchor: str = "act"
    mult: int = 0
    extra: int = 0
    # 0: the key's first account, site and edition; 1: after its move or edition change.
    placement: int = 0
    # The lease's end is written down later than it took effect (recorded_at).
    recorded_later: int = 0
    lease: bool = False  # extra is "lease - 1 h": the lease ran out 30 days after the last call


@dataclass(frozen=True)
class Span:
    start: int  # index of the step that opened it
    end: int | None  # index of the step that closed it; None while open
    period: int  # index of the step that opened its active period
    ends_period: bool = False


@dataclass(frozen=True)
class History:
    code: int
    name: str
    share: int  # percent of the keys
    state: str
    steps: tuple[Step, ...]
    spans: tuple[Span, ...]
    any_product: bool  # False: SP-MSP only (deactivation or editions)
    # When the key last called home (as Step anchors), None for a key never activated.
    last_call: Step | None
    last_activation: int | None  # index of the step that set activated_at


SOURCE = Step("source", "", State.UNUSED, "user", anchor="src")
ACTIVATE = Step("activate", State.UNUSED, State.OK, "call_home")
RECENT_CALL = Step("", "", "", "", anchor="now", extra=60)


def _deactivate(mult: int) -> tuple[Step, Step]:
    return (
        Step("request_deactivation", State.OK, State.DEACTIVATION_REQUESTED, "user", mult=mult),
        Step(
            "finalise_deactivation",
            State.DEACTIVATION_REQUESTED,
            State.DEACTIVATED,
            "call_home",
            mult=mult,
            extra=2 * HOUR,
        ),
    )


def _reactivate(mult: int) -> tuple[Step, Step]:
    return (
        Step("request_reactivation", State.DEACTIVATED, State.REACTIVATION_REQUESTED, "user", mult=mult),
        Step(
            "finalise_reactivation",
            State.REACTIVATION_REQUESTED,
            State.OK,
            "call_home",
            mult=mult,
            extra=3 * HOUR,
        ),
    )


def _call_at(step: Step) -> Step:
    return Step("", "", "", "", anchor=step.anchor, mult=step.mult, extra=step.extra)


def histories(lease_seconds: int, critical_seconds: int) -> tuple[History, ...]:
    D = State.DEACTIVATED
    once = (SOURCE, ACTIVATE)
    twice = (*once, *_deactivate(1), *_reactivate(2))
    thrice = (*twice, *_deactivate(3), *_reactivate(4))
    lapse_request = Step("request_deactivation", State.OK, State.DEACTIVATION_REQUESTED, "user", mult=1)
    lapsed = Step(
        "lease_expired",
        State.DEACTIVATION_REQUESTED,
        D,
        "sweeper",
        mult=1,
        extra=lease_seconds - HOUR,
        recorded_later=2 * DAY,
        lease=True,
    )
    # A silent key turned Critical a day ago, its threshold after its last call.
    critical_call = Step("", "", "", "", anchor="now", extra=DAY + critical_seconds + HOUR)
    turned = Step("turn_critical", State.OK, State.CRITICAL, "sweeper", anchor="now", extra=DAY)
    asked = Step(
        "request_deactivation", State.OK, State.DEACTIVATION_REQUESTED, "user", anchor="now", extra=2 * DAY
    )
    moved = Step("move", State.OK, State.OK, "user", mult=1, placement=1)
    edition = Step("report_edition", State.OK, State.OK, "call_home", mult=1, placement=1)
    one_open = (Span(1, None, 1),)
    one_closed = (Span(1, 3, 1, ends_period=True),)
    split = (Span(1, 2, 1), Span(2, None, 1))
    two = (Span(1, 3, 1, True), Span(5, None, 5))
    three = (Span(1, 3, 1, True), Span(5, 7, 5, True), Span(9, None, 9))
    found = (
        History(0, "never activated", 3, State.UNUSED, (SOURCE,), (), True, None, None),
        History(1, "active", 30, State.OK, once, one_open, True, RECENT_CALL, 1),
        History(2, "turned Critical", 4, State.CRITICAL, (*once, turned), one_open, True, critical_call, 1),
        History(
            3,
            "deactivation pending",
            3,
            State.DEACTIVATION_REQUESTED,
            (*once, asked),
            one_open,
            False,
            Step("", "", "", "", anchor="now", extra=3 * DAY),
            1,
        ),
        History(
            4,
            "deactivated",
            5,
            D,
            (*once, *_deactivate(1)),
            one_closed,
            False,
            _call_at(_deactivate(1)[1]),
            1,
        ),
        History(
            5,
            "deactivated by a lapsed lease",
            5,
            D,
            (*once, lapse_request, lapsed),
            one_closed,
            False,
            Step("", "", "", "", mult=1, extra=-HOUR),
            1,
        ),
        History(
            6,
            "reactivation pending",
            5,
            State.REACTIVATION_REQUESTED,
            (*once, *_deactivate(1), _reactivate(2)[0]),
            one_closed,
            False,
            _call_at(_deactivate(1)[1]),
            1,
        ),
        History(7, "reactivated", 15, State.OK, twice, two, False, RECENT_CALL, 5),
        History(8, "reactivated twice", 8, State.OK, thrice, three, False, RECENT_CALL, 9),
        History(
            9,
            "three periods, all ended",
            5,
            D,
            (*thrice, *_deactivate(5)),
            (*three[:2], Span(9, 11, 9, True)),
            False,
            _call_at(_deactivate(5)[1]),
            9,
        ),
        History(10, "moved to another account", 10, State.OK, (*once, moved), split, True, RECENT_CALL, 1),
        History(11, "edition changed", 7, State.OK, (*once, edition), split, False, RECENT_CALL, 1),
    )
    if sum(h.share for h in found) != 100:
        raise AssertionError("The shares of the histories add up to 100 %.")
    return found
