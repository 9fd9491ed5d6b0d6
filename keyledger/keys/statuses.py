"""A key's status as of now, in SQL: what `ProductKey.state_at(now)` says of one key, as
filters and counts over many. The sweeper writes a lapsed threshold down only when it next
runs; a list, a count or a search must not wait for it."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from keyledger.keys.models import ProductKey

State = ProductKey.State

# The status filter of a key list: its value in the URL, its label and the states it shows.
# "Requests pending" are both requests: each waits for the product's next call home.
FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ok": ("OK", (State.OK,)),
    "critical": ("Critical", (State.CRITICAL,)),
    "pending": ("Requests pending", (State.DEACTIVATION_REQUESTED, State.REACTIVATION_REQUESTED)),
    "deactivated": ("Deactivated", (State.DEACTIVATED,)),
    "unused": ("Not activated", (State.UNUSED,)),
}


def shown_in_state(state: str, now: datetime) -> Q:
    """Keys whose state as of now (ProductKey.state_at) is `state`: an OK key past its
    critical threshold is Critical, and a pending deactivation past its offline lease is
    Deactivated, before the sweeper writes it down. Silent for *longer*
    than the threshold: at exactly the due time the key is still OK, as state_at says."""
    overdue = Q(state=State.OK, critical_due_at__lt=now)
    lapsed = Q(state=State.DEACTIVATION_REQUESTED, critical_due_at__lt=now)
    if state == State.CRITICAL:
        return Q(state=State.CRITICAL) | overdue
    if state == State.OK:
        return Q(state=State.OK) & (Q(critical_due_at__isnull=True) | Q(critical_due_at__gte=now))
    if state == State.DEACTIVATED:
        return Q(state=State.DEACTIVATED) | lapsed
    if state == State.DEACTIVATION_REQUESTED:
        return Q(state=State.DEACTIVATION_REQUESTED) & ~lapsed
    return Q(state=state)


def in_filter(name: str, now: datetime) -> Q:
    """Keys shown under the status filter `name` (a key of FILTERS)."""
    q = Q(pk__in=[])
    for state in FILTERS[name][1]:
        q |= shown_in_state(state, now)
    return q


def critical_count(now: datetime, prefix: str = "") -> Count:
    """Count(...) of the Critical keys now; `prefix` reaches the keys through a relation
    (e.g. "product_keys__" from an account)."""
    overdue = Q(**{f"{prefix}state": State.OK, f"{prefix}critical_due_at__lt": now})
    return Count(f"{prefix}id", filter=Q(**{f"{prefix}state": State.CRITICAL}) | overdue)
