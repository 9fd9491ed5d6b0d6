"""The background sweep: OK keys silent past the critical threshold turn Critical, and a
pending deactivation of a product silent past its offline lease becomes final (the product
no longer runs licensed, so it is not billed on). Safe to run in several workers at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from keyledger.audit.actor import Actor, Channel
from keyledger.keys import alerts, states
from keyledger.keys.models import ProductKey

BATCH = 500


@dataclass
class SweepResult:
    turned_critical: list[ProductKey] = field(default_factory=list)
    lease_expired: list[ProductKey] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.turned_critical) + len(self.lease_expired)


def _drain(
    transition: states.Transition,
    *,
    actor: Actor,
    now: datetime,
    batch: int,
    stop: Callable[[], bool],
) -> list[ProductKey]:
    # One transaction per batch: locks are held briefly and a crash loses at most one batch.
    claimed: list[ProductKey] = []
    while True:
        with transaction.atomic():
            # Keys whose index entry has passed but that called home since are not due: moved
            # on first (states.rearm), so that the sweep's index scan finds what is due.
            rearmed = states.rearm(transition, now=now, limit=batch)
            keys = states.sweep(transition, actor=actor, now=now, limit=batch)
        claimed += keys
        # A stop asked for (the worker's SIGTERM) is taken between batches, never inside one.
        if (len(keys) < batch and rearmed < batch) or stop():
            return claimed


def sweep(
    *, now: datetime | None = None, batch: int = BATCH, stop: Callable[[], bool] = lambda: False
) -> SweepResult:
    """`stop`: asked after each batch; when true, the sweep ends there (the rest waits for the next)."""
    now = now or timezone.now()
    actor = Actor.system(Channel.WORKER)
    critical = _drain(states.TURN_CRITICAL, actor=actor, now=now, batch=batch, stop=stop)
    expired = [] if stop() else _drain(states.LEASE_EXPIRED, actor=actor, now=now, batch=batch, stop=stop)
    result = SweepResult(turned_critical=critical, lease_expired=expired)
    alerts.send_critical_alerts(result.turned_critical)
    return result
