"""The home overview of an organisation's subtree: its keys by status now and the lists
those numbers lead to. The running month (keys turning billable, provisional billing) is
in keyledger.reports.overview_month, the charts in keyledger.reports.overview_charts.

Every function is one query whatever the number of keys: counts are one GROUP BY, a list
one query with its LIMIT.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, CharField, Count, F, QuerySet, Value, When

from keyledger.billing import engine
from keyledger.keys.models import ProductKey
from keyledger.organisations.models import Organisation

State = ProductKey.State

# The order the overview shows the statuses in: what runs, what needs attention, the
# requests waiting for the next call home, then what does not run.
STATUSES: tuple[str, ...] = (
    State.OK,
    State.CRITICAL,
    State.DEACTIVATION_REQUESTED,
    State.REACTIVATION_REQUESTED,
    State.UNUSED,
    State.DEACTIVATED,
)


def scope_for(organisation: Organisation) -> engine.Scope:
    """The billing engine's scope of an organisation's subtree: the keys of every MSP at or
    below it, exactly the keys keyledger.access.keys_for_user gives its users."""
    return engine.Scope(path=organisation.path)


# --- keys by status -----------------------------------------------------------------------


def state_now(now: datetime) -> Case:
    """ProductKey.state_at(now) as an SQL expression: an OK key silent past its critical
    threshold is Critical, and a pending deactivation past its offline lease is Deactivated,
    before the worker writes either down (at exactly the due time nothing has changed yet)."""
    return Case(
        When(state=State.OK, critical_due_at__lt=now, then=Value(State.CRITICAL.value)),
        When(
            state=State.DEACTIVATION_REQUESTED, critical_due_at__lt=now, then=Value(State.DEACTIVATED.value)
        ),
        default=F("state"),
        output_field=CharField(),
    )


def status_counts(keys: QuerySet[ProductKey], *, now: datetime) -> dict[str, int]:
    """How many of `keys` are in each status now (every status present, 0 when none)."""
    rows = keys.order_by().annotate(shown=state_now(now)).values("shown").annotate(n=Count("id"))
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["shown"]] = row["n"]
    return counts


def keys_in_status(keys: QuerySet[ProductKey], status: str, *, now: datetime) -> QuerySet[ProductKey]:
    """The keys shown in `status` now, with what their rows show. Critical keys come longest
    silent first (those need a look first); the others as Key Management lists them."""
    shown = keys.alias(shown=state_now(now)).filter(shown=status)
    order = ("last_call_home_at", "id") if status == State.CRITICAL else ("created_at", "id")
    return shown.select_related("product", "msp", "account", "site").order_by(*order)
