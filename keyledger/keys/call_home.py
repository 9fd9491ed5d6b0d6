"""What a product's call home does to its key (SPEC §7). The wire format lives in
keyledger.api.call_home; this module takes a parsed report and answers with the key's
status, or raises one of the protocol's refusals.

The steady state (an active key, same machine, nothing to change but the time of the
call and what the product reports about itself) is one SELECT and one compare-and-set
UPDATE, with no transaction: the products call home all day long. Everything else takes
the row lock and goes through the state machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.keys import states
from keyledger.keys.models import ProductKey

State = ProductKey.State


@dataclass(frozen=True)
class Report:
    key: str  # normalised (keyformat.normalise)
    product: str
    machine_name: str
    hardware_id: str
    software_id: str
    nonce: str  # echoed by the wire protocol; kept with the report it came with
    edition: str | None = None
    version: str = ""
    os: str = ""
    jobs_in_use: dict[str, int] = field(default_factory=dict)


class Refusal(Exception):
    status: int
    error: str

    def __init__(self, detail: str = "", field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class UnknownKey(Refusal):
    status, error = 404, "unknown_key"


class KeyInUse(Refusal):
    status, error = 409, "key_in_use"


class WrongProduct(Refusal):
    status, error = 422, "wrong_product"


class InvalidField(Refusal):
    status, error = 422, "invalid_field"


@dataclass(frozen=True)
class Outcome:
    key: ProductKey
    active: bool
    at: datetime  # the time of the call as recorded on the key


def _check_report(key: ProductKey, report: Report) -> dict[str, Any]:
    """What the report writes on the key, once checked against the key's product."""
    product = key.product
    if report.product != product.code:
        raise WrongProduct(f"This key is for {product.name}, not {report.product!r}.", field="product")
    edition = key.edition
    if product.editions:
        if report.edition is None and product.requires_edition_on_call_home:
            raise InvalidField(f"{product.name} reports its edition.", field="edition")
        if report.edition is not None:
            if report.edition not in product.edition_codes():
                raise InvalidField(
                    f"Not an edition of {product.name}: choose one of {', '.join(product.edition_codes())}.",
                    field="edition",
                )
            edition = report.edition
    holds = key.job_licenses
    for code, in_use in report.jobs_in_use.items():
        if code not in holds:
            raise InvalidField(f"This key holds no {code} job licenses.", field=f"jobs_in_use.{code}")
        if in_use > holds[code]:
            raise InvalidField(
                f"This key holds {holds[code]} {code} job licenses, not {in_use}.",
                field=f"jobs_in_use.{code}",
            )
    return {
        "edition": edition,
        "version": report.version,
        "os": report.os,
        "jobs_in_use": dict(report.jobs_in_use),
    }


def _same_machine(key: ProductKey, report: Report) -> bool:
    return key.is_same_machine(
        name=report.machine_name, hardware_id=report.hardware_id, software_id=report.software_id
    )


def _bind(report: Report, now: datetime) -> dict[str, Any]:
    return {
        "machine_name": report.machine_name,
        "machine_hardware_id": report.hardware_id,
        "machine_software_id": report.software_id,
        "activated_at": now,
    }


def call_home(*, report: Report, actor: Actor, now: datetime | None = None) -> Outcome:
    """The key's answer to `report`. Without `now` the call is recorded at the current time,
    read under the key's lock when the call changes its state."""
    key = ProductKey.objects.select_related("product").filter(key=report.key).first()
    if key is None:
        raise UnknownKey("No product key like this exists.", field="key")
    reported = _check_report(key, report)
    if key.state == State.OK and _same_machine(key, report) and reported["edition"] == key.edition:
        at = now or timezone.now()
        changes = {**reported, "last_call_home_at": at, "critical_due_at": states.due_at(State.OK, at)}
        # The guard also fails when the key was deactivated and rebound meanwhile (activated_at).
        updated = ProductKey.objects.filter(
            pk=key.pk, state=State.OK, edition=key.edition, activated_at=key.activated_at
        ).update(**changes)
        if updated == 1:
            for name, value in changes.items():
                setattr(key, name, value)
            return Outcome(key=key, active=True, at=at)
    return _call_home_locked(key_id=key.pk, report=report, actor=actor, now=now)


@transaction.atomic
def _call_home_locked(*, key_id: int, report: Report, actor: Actor, now: datetime | None) -> Outcome:
    key = ProductKey.objects.select_for_update(of=("self",)).select_related("product", "msp").get(pk=key_id)
    # The time is read under the lock: a change that committed while this call waited for
    # the lock must come first in the key's events, whose order billing replays.
    now = now or timezone.now()
    reported = _check_report(key, report)
    # A pending deactivation whose lease ran out before this call was final at the lease's
    # end: the product hears "deactivated", and the key was not active in between.
    states.settle(key, now=now)
    seen = {**reported, "last_call_home_at": now}
    old = key.state
    transition: states.Transition | None = None
    changes: dict[str, Any] = seen
    if old == State.UNUSED:
        transition, changes = states.ACTIVATE, {**seen, **_bind(report, now)}
    elif old == State.REACTIVATION_REQUESTED:
        # Deactivated and reactivated: whichever machine calls home next is the one.
        transition, changes = states.FINALISE_REACTIVATION, {**seen, **_bind(report, now)}
    elif old == State.DEACTIVATED:
        if _same_machine(key, report):
            ProductKey.objects.filter(pk=key.pk, state=old).update(**seen)
        return Outcome(key=key, active=False, at=now)
    elif not _same_machine(key, report):
        raise KeyInUse("This key is active on another machine.", field="machine")
    elif old == State.CRITICAL:
        transition = states.RECOVER
    elif old == State.DEACTIVATION_REQUESTED:
        transition = states.FINALISE_DEACTIVATION
    elif reported["edition"] != key.edition:
        transition = states.REPORT_EDITION
    if transition is None:
        seen["critical_due_at"] = states.due_at(old, now)
        ProductKey.objects.filter(pk=key.pk, state=old).update(**seen)
        for name, value in seen.items():
            setattr(key, name, value)
        return Outcome(key=key, active=key.is_active, at=now)
    edition_before = key.edition
    states.apply(key, transition, actor=actor, now=now, **changes)
    audit = {"state": [old, key.state], "machine": report.machine_name}
    if key.edition != edition_before:
        audit["edition"] = [edition_before, key.edition]
    record(actor=actor, action=f"key.{transition.name}", organisation=key.msp, obj=key, changes=audit)
    return Outcome(key=key, active=key.is_active, at=now)
