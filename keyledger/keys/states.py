"""The product key state machine (SPEC §6): every transition, by name, and the one place
that changes a key's state.

Each change is a compare-and-set on the state the caller saw (`filter(pk, state=old)
.update(...)`), so two writers never both move a key out of the same state, and each
change writes its KeyEvent in the same transaction. Billing is replayed from those events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from keyledger.audit.actor import Actor, Channel
from keyledger.audit.models import AuditEntry
from keyledger.audit.record import record
from keyledger.billing import spans
from keyledger.keys.models import KeyEvent, ProductKey

State = ProductKey.State
Cause = KeyEvent.Cause
NEW = ""  # the "state" of a key before it is sourced


class Conflict(Exception):
    """The key left the state the caller saw before the change could be written."""


class InvalidTransition(Exception):
    """The transition does not start from the key's state (a programming error: callers check)."""


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    targets: frozenset[str]

    def target(self, to: str | None) -> str:
        if to is None:
            if len(self.targets) != 1:
                raise InvalidTransition(f"{self.name} needs an explicit target")
            (to,) = self.targets
        if to not in self.targets:
            raise InvalidTransition(f"{self.name} does not lead to {to}")
        return to


def _t(name: str, sources: Iterable[str], targets: Iterable[str]) -> Transition:
    return Transition(name, frozenset(sources), frozenset(targets))


SOURCE = _t("source", [NEW], [State.UNUSED])
# Call home.
ACTIVATE = _t("activate", [State.UNUSED], [State.OK])
RECOVER = _t("recover", [State.CRITICAL], [State.OK])
FINALISE_DEACTIVATION = _t("finalise_deactivation", [State.DEACTIVATION_REQUESTED], [State.DEACTIVATED])
FINALISE_REACTIVATION = _t("finalise_reactivation", [State.REACTIVATION_REQUESTED], [State.OK])
# Not a state change: the edition the product reports changed (billing needs it).
REPORT_EDITION = _t("report_edition", [State.OK], [State.OK])
# People (portal or API).
REQUEST_DEACTIVATION = _t("request_deactivation", [State.OK, State.CRITICAL], [State.DEACTIVATION_REQUESTED])
DEACTIVATE_OFFLINE = _t("deactivate_offline", [State.OK, State.CRITICAL], [State.DEACTIVATED])
WITHDRAW_DEACTIVATION = _t(
    "withdraw_deactivation", [State.DEACTIVATION_REQUESTED], [State.OK, State.CRITICAL]
)
REQUEST_REACTIVATION = _t("request_reactivation", [State.DEACTIVATED], [State.REACTIVATION_REQUESTED])
WITHDRAW_REACTIVATION = _t("withdraw_reactivation", [State.REACTIVATION_REQUESTED], [State.DEACTIVATED])
# The sweeper. A lapsed lease takes effect at the lease's end, whenever it is written down.
TURN_CRITICAL = _t("turn_critical", [State.OK], [State.CRITICAL])
LEASE_EXPIRED = _t("lease_expired", [State.DEACTIVATION_REQUESTED], [State.DEACTIVATED])
# Not a state change: the key moved to another account or site of its MSP (record_move).
MOVE = "move"

TRANSITIONS: tuple[Transition, ...] = (
    SOURCE,
    ACTIVATE,
    RECOVER,
    FINALISE_DEACTIVATION,
    FINALISE_REACTIVATION,
    REPORT_EDITION,
    REQUEST_DEACTIVATION,
    DEACTIVATE_OFFLINE,
    WITHDRAW_DEACTIVATION,
    REQUEST_REACTIVATION,
    WITHDRAW_REACTIVATION,
    TURN_CRITICAL,
    LEASE_EXPIRED,
)


def critical_threshold() -> timedelta:
    return timedelta(hours=settings.KEYLEDGER_CRITICAL_HOURS)


def offline_lease() -> timedelta:
    return timedelta(days=settings.KEYLEDGER_OFFLINE_LEASE_DAYS)


def due_at(state: str, last_call_home_at: datetime | None) -> datetime | None:
    """When the sweeper must next look at a key in `state` (see ProductKey.critical_due_at)."""
    if last_call_home_at is None:
        return None
    if state == State.OK:
        return last_call_home_at + critical_threshold()
    if state == State.DEACTIVATION_REQUESTED:
        return last_call_home_at + offline_lease()
    return None


def active_state_at(last_call_home_at: datetime, now: datetime) -> str:
    """OK or Critical, for a key that is active again (a withdrawn deactivation)."""
    return State.CRITICAL if now - last_call_home_at > critical_threshold() else State.OK


def cause_for(actor: Actor) -> str:
    return {
        Channel.API: Cause.API,
        Channel.PRODUCT: Cause.CALL_HOME,
        Channel.WORKER: Cause.SWEEPER,
    }.get(actor.channel, Cause.USER)


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A key's state changes inside the transaction that writes its event.")


def event_for(
    key: ProductKey,
    *,
    old: str,
    actor: Actor,
    at: datetime,
    transition: str,
    recorded_at: datetime | None = None,
) -> KeyEvent:
    return KeyEvent(
        at=at,
        recorded_at=recorded_at or at,
        key=key,
        old_state=old,
        new_state=key.state,
        cause=cause_for(actor),
        transition=transition,
        actor_user=actor.user,
        actor_token_id=getattr(actor.token, "pk", None),
        machine_name=key.machine_name,
        machine_hardware_id=key.machine_hardware_id,
        machine_software_id=key.machine_software_id,
        edition=key.edition,
        msp_id=key.msp_id,
        account_id=key.account_id,
        site_id=key.site_id,
    )


def record_sourced(keys: list[ProductKey], *, actor: Actor, at: datetime) -> None:
    _require_transaction()
    KeyEvent.objects.bulk_create(
        [event_for(k, old=NEW, actor=actor, at=at, transition=SOURCE.name) for k in keys]
    )


def apply(
    key: ProductKey,
    transition: Transition,
    *,
    actor: Actor,
    now: datetime,
    to: str | None = None,
    **changes: Any,
) -> KeyEvent:
    """Move `key` along `transition` from the state it holds in memory, with `changes` to
    other columns written in the same UPDATE. Raises Conflict when the row has moved on.

    The event takes effect `now`, except a lapsed lease, which takes effect at the lease's
    end (SPEC §8); the key's active spans follow in the same transaction."""
    _require_transaction()
    old = key.state
    if old not in transition.sources:
        raise InvalidTransition(f"{transition.name} does not start from {old}")
    new = transition.target(to)
    at = lease_end(key) if transition is LEASE_EXPIRED else now
    before = spans.placement(key)
    last = changes.get("last_call_home_at", key.last_call_home_at)
    changes["critical_due_at"] = changes["sweep_after"] = due_at(new, last)
    updated = ProductKey.objects.filter(pk=key.pk, state=old).update(state=new, **changes)
    if updated != 1:
        raise Conflict(key.key)
    key.state = new
    for name, value in changes.items():
        setattr(key, name, value)
    event = event_for(key, old=old, actor=actor, at=at, recorded_at=now, transition=transition.name)
    event.save(force_insert=True)
    spans.after_change(key, old_state=old, before=before, at=at)
    return event


def lease_end(key: ProductKey) -> datetime:
    """When a pending deactivation lapses: the last call home plus the offline lease."""
    if key.last_call_home_at is None:
        raise InvalidTransition("A key that never called home has no offline lease.")
    return key.last_call_home_at + offline_lease()


def settle(key: ProductKey, *, now: datetime) -> bool:
    """Write down a pending deactivation that lapsed with the offline lease before `now`, so
    that nothing is recorded after the lease's end as if the key were still active. The
    caller holds the key's row lock. True when it changed the key."""
    if key.state != State.DEACTIVATION_REQUESTED or not key.is_offline_at(now):
        return False
    old = key.state
    apply(key, LEASE_EXPIRED, actor=Actor.system(Channel.WORKER), now=now)
    record(
        actor=Actor.system(Channel.WORKER),
        action=f"key.{LEASE_EXPIRED.name}",
        organisation=key.msp,
        obj=key,
        changes={"state": [old, key.state]},
    )
    return True


def record_move(
    keys: list[ProductKey], *, before: dict[int, tuple[str, int, int | None]], actor: Actor, now: datetime
) -> None:
    """The keys (as they are now) moved to another account or site: one event each, and the
    active ones start a new span there. `before` maps key id → spans.placement before."""
    _require_transaction()
    moved = [k for k in keys if spans.placement(k) != before[k.pk]]
    KeyEvent.objects.bulk_create(
        [event_for(k, old=k.state, actor=actor, at=now, transition=MOVE) for k in moved]
    )
    spans.split([k for k in moved if k.state in ProductKey.ACTIVE_STATES], at=now)


def _armed_before(now: datetime) -> Q:
    # Keys written without sweep_after (bulk loads of old rows) are looked at every time.
    return Q(sweep_after__lt=now) | Q(sweep_after__isnull=True)


def rearm(transition: Transition, *, now: datetime, limit: int) -> int:
    """Move sweep_after up to critical_due_at for up to `limit` keys whose sweep_after has
    passed but that called home since (so are not due): the steady call home leaves
    sweep_after behind, and without this the sweep would look at them again every time.
    Not a state change. Returns how many keys it moved."""
    _require_transaction()
    (source,) = transition.sources
    # Locked and skipped like the sweep's claim: several workers never wait on each other.
    ids = list(
        ProductKey.objects.select_for_update(skip_locked=True)
        .filter(_armed_before(now), state=source, critical_due_at__gte=now)
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    # critical_due_at only grows without a state change, so the bound stays a lower bound.
    ProductKey.objects.filter(pk__in=ids, state=source).update(sweep_after=F("critical_due_at"))
    return len(ids)


def sweep(transition: Transition, *, actor: Actor, now: datetime, limit: int) -> list[ProductKey]:
    """Claim up to `limit` keys whose due time has passed and move them along `transition`.

    Safe with several workers: on PostgreSQL the rows are locked and locked rows skipped, so
    each key is claimed by one worker; on SQLite the write transaction is IMMEDIATE, so
    sweeps run one after another and a later one no longer finds the claimed keys."""
    _require_transaction()
    (source,) = transition.sources
    new = transition.target(None)
    due = list(
        ProductKey.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(_armed_before(now), state=source, critical_due_at__lt=now)
        .select_related("product", "msp__parent", "account", "site")
        .order_by("critical_due_at")[:limit]
    )
    if not due:
        return []
    # When each change took effect: a lapsed lease at the lease's end, however late the
    # sweep runs (a worker that was down must not make the keys bill for longer).
    effective = {k.pk: lease_end(k) if transition is LEASE_EXPIRED else now for k in due}
    updated = ProductKey.objects.filter(
        pk__in=[k.pk for k in due], state=source, critical_due_at__lt=now
    ).update(state=new, critical_due_at=due_at(new, None), sweep_after=due_at(new, None))
    if updated != len(due):
        raise Conflict("sweep")
    for key in due:
        key.state = new
        key.critical_due_at = key.sweep_after = None
    KeyEvent.objects.bulk_create(
        [
            event_for(
                k, old=source, actor=actor, at=effective[k.pk], recorded_at=now, transition=transition.name
            )
            for k in due
        ]
    )
    if source in ProductKey.ACTIVE_STATES and new not in ProductKey.ACTIVE_STATES:
        spans.close_many(due, ends=effective)
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                at=now,
                actor_label=actor.label,
                organisation=key.msp,
                organisation_path=key.msp.path,
                action=f"key.{transition.name}",
                object_type=ProductKey._meta.label,
                object_id=str(key.pk),
                object_repr=key.key,
                changes={"state": [source, new]},
                channel=actor.channel,
            )
            for key in due
        ]
    )
    return due
