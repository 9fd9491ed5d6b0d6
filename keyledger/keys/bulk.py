"""Deactivate, Reactivate or move many keys at once, from a key list.

Each key goes through the same action as on its own Activation Details
(keyledger.keys.actions): the same state machine, the same events and audit rows. Each
action is its own transaction, so a key that is refused, or that changed under us, is
reported and the others go on: this function is deliberately not atomic.

Access is the caller's: every key passed in comes through keyledger.access, and the
destination of a move from the MSP's own account tree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.core.exceptions import ValidationError

from keyledger.audit.actor import Actor
from keyledger.customers.models import Account, Site
from keyledger.keys import actions, states
from keyledger.keys.models import ProductKey

State = ProductKey.State


class Operation(StrEnum):
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    MOVE = "move"


# What happened to a key, as the summary counts it.
REQUESTED_DEACTIVATION = "deactivation requested"
DEACTIVATED_AT_ONCE = "deactivated at once (offline past the lease)"
REQUESTED_REACTIVATION = "reactivation requested"
WITHDREW_DEACTIVATION = "deactivation request withdrawn"
WITHDREW_REACTIVATION = "reactivation request withdrawn"
MOVED = "moved"
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Refusal:
    key: str
    reason: str


@dataclass
class BulkResult:
    operation: Operation
    outcomes: Counter[str] = field(default_factory=Counter)
    refused: list[Refusal] = field(default_factory=list)
    # Ids asked for that are not (or no longer) among the keys the user may change here.
    not_found: int = 0

    @property
    def total(self) -> int:
        return sum(self.outcomes.values()) + len(self.refused) + self.not_found

    def summary(self) -> str:
        """'5 keys: 4 deactivation requested, 1 refused: ABCDE-… — the reason.'"""
        parts = [f"{n} {what}" for what, n in self.outcomes.most_common()]
        if self.not_found:
            parts.append(f"{self.not_found} not found")
        if self.refused:
            reasons = "; ".join(f"{r.key} — {r.reason.rstrip('.')}" for r in self.refused)
            parts.append(f"{len(self.refused)} refused: {reasons}")
        noun = "key" if self.total == 1 else "keys"
        return f"{self.total} {noun}: {', '.join(parts) or 'nothing to do'}."


def _outcome(operation: Operation, old: str, new: str, *, moved: bool) -> str:
    if operation is Operation.MOVE:
        return MOVED if moved else UNCHANGED
    if old == new:
        return UNCHANGED
    if new == State.DEACTIVATION_REQUESTED:
        return REQUESTED_DEACTIVATION
    if new == State.REACTIVATION_REQUESTED:
        return REQUESTED_REACTIVATION
    if old == State.DEACTIVATION_REQUESTED:
        return WITHDREW_DEACTIVATION
    if old == State.REACTIVATION_REQUESTED:
        return WITHDREW_REACTIVATION
    if new == State.DEACTIVATED:
        return DEACTIVATED_AT_ONCE
    return f"now {State(new).label}"


def change_keys(
    *,
    keys: Iterable[ProductKey],
    operation: Operation,
    actor: Actor,
    account: Account | None = None,
    site: Site | None = None,
    not_found: int = 0,
    now: datetime | None = None,
) -> BulkResult:
    """Run `operation` on each key, one transaction per key; `account` and `site` are the
    destination of a move. Refusals are collected, never raised."""
    if operation is Operation.MOVE and account is None:
        raise ValueError("A move needs its destination account.")
    result = BulkResult(operation=operation, not_found=not_found)
    for key in keys:
        old, placement = key.state, (key.account_id, key.site_id)
        try:
            if operation is Operation.DEACTIVATE:
                key = actions.request_deactivation(key=key, actor=actor, now=now)
            elif operation is Operation.REACTIVATE:
                key = actions.request_reactivation(key=key, actor=actor, now=now)
            else:
                assert account is not None
                key = actions.move_key(key=key, account=account, site=site, actor=actor, now=now)
        except ValidationError as exc:
            result.refused.append(Refusal(key=key.key, reason=" ".join(exc.messages)))
        except states.Conflict:
            result.refused.append(Refusal(key=key.key, reason="it changed meanwhile; try again."))
        else:
            moved = (key.account_id, key.site_id) != placement
            result.outcomes[_outcome(operation, old, key.state, moved=moved)] += 1
    return result
