"""The parts of a key's Activation Details: its history, what can be done with it now, and
its billing (each month's active days and the spans behind them, and this month's forecast)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyledger.audit.naming import actor_name
from keyledger.billing.engine import threshold
from keyledger.keys import states
from keyledger.keys.models import KeyEvent, ProductKey
from keyledger.organisations.models import User
from keyledger.reports.forecast import forecast_message, key_billing, running_forecast

State = ProductKey.State


@dataclass(frozen=True)
class EventRow:
    event: KeyEvent
    change: str
    actor: str


def _actor_label(event: KeyEvent, viewer: User) -> str:
    actor = event.actor_user
    if actor is not None:
        return actor_name(actor_user=actor, label=actor.email, viewer=viewer.organisation)
    if event.actor_token_id is not None:
        return "API token"
    if event.cause == KeyEvent.Cause.CALL_HOME:
        return f"The product on {event.machine_name}" if event.machine_name else "The product"
    return "Keyledger"


def event_rows(key: ProductKey, viewer: User) -> list[EventRow]:
    labels = dict(State.choices)
    rows = []
    for event in key.events.select_related("actor_user__organisation", "account", "site").order_by(
        "at", "id"
    ):
        new = labels.get(event.new_state, event.new_state)
        if not event.old_state:
            change = f"Sourced: {new}"
        elif event.transition == states.MOVE:
            change = "Moved to " + " / ".join(
                n for n in (event.account.name, getattr(event.site, "name", "")) if n
            )
        elif event.transition == states.LEASE_EXPIRED.name:
            change = f"{labels.get(event.old_state, event.old_state)} → {new} (the offline lease ended)"
        elif event.old_state == event.new_state:
            change = f"Edition reported: {key.product.edition_label(event.edition)}"
        else:
            change = f"{labels.get(event.old_state, event.old_state)} → {new}"
        rows.append(EventRow(event=event, change=change, actor=_actor_label(event, viewer)))
    return rows


def key_actions(key: ProductKey) -> dict[str, Any]:
    """Which of Deactivate, Reactivate and withdrawing a request the key offers now. Undoing
    a pending request is always "Withdraw … request", whichever request it is."""
    product = key.product
    note = ""
    withdraw_label = ""
    if not product.can_deactivate:
        note = f"{product.name} keys are not deactivated or reactivated."
    elif key.state == State.UNUSED:
        note = "Deactivate applies once the product has called home and activated the key."
    elif key.state == State.DEACTIVATION_REQUESTED:
        withdraw_label = "Withdraw deactivation request"
        note = (
            "The deactivation is final when the product next calls home; withdrawing it keeps the key active."
        )
    elif key.state == State.REACTIVATION_REQUESTED:
        withdraw_label = "Withdraw reactivation request"
        note = "The reactivation is final when the product next calls home; withdrawing it keeps the key deactivated."
    return {
        "show_deactivate": key.can_request_deactivation,
        "show_reactivate": key.can_request_reactivation,
        "show_withdraw": bool(withdraw_label) and key.has_pending_request,
        "withdraw_label": withdraw_label,
        "action_note": note,
    }


@dataclass(frozen=True)
class SpanRow:
    started_at: Any
    ended_at: Any
    first_day: Any
    last_day: Any
    new_days: int
    edition: str


@dataclass(frozen=True)
class BillingRow:
    label: str
    running: bool
    active_days: int
    billable: bool
    spans: list[SpanRow]


def billing_context(key: ProductKey, viewer: User, now: Any) -> dict[str, Any]:
    """Why is this key billable: each month's active days and the spans that made them, and
    the running month's forecast (reports.forecast, counted by the billing engine)."""
    product = key.product
    path = viewer.organisation.path
    months = [
        BillingRow(
            label=m.month.label,
            running=m.running,
            active_days=m.active_days,
            billable=m.billable,
            spans=[
                SpanRow(
                    started_at=s.started_at,
                    ended_at=s.ended_at,
                    first_day=s.first_day,
                    last_day=s.last_day,
                    new_days=s.new_days,
                    edition=product.edition_label(s.edition) if s.edition else "",
                )
                for s in m.spans
            ],
        )
        for m in key_billing(key, path=path, now=now)
    ]
    forecast = running_forecast(key, path=path, now=now)
    return {
        "billing_months": months,
        "forecast": forecast_message(forecast, product=product),
        "billable_after": threshold(),
    }
