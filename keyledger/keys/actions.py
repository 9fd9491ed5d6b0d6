"""Every change people make to product keys: Add Key(s), moving a key, Deactivate, Reactivate
and withdrawing a request.

Access (is the key or account in the actor's subtree? may the role change keys?) is checked
by the caller through keyledger.access before it calls an action. The rules of the catalog
(quantity, job licenses, the key's own fields) are read from the Product row.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.customers.models import Account, Site
from keyledger.keys import keyformat, states
from keyledger.keys.models import Product, ProductKey, SourcingRequest
from keyledger.organisations.models import Organisation

State = ProductKey.State


def clean_key_fields(product: Product, fields: dict[str, Any] | None) -> dict[str, Any]:
    """The product's own fields of a new key, checked against the catalog: every job license
    type (0 when not given) and every key field. Errors name the field at fault."""
    fields = dict(fields or {})
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for job in product.job_license_types:
        value = fields.pop(job["code"], 0)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= job["max"]:
            errors[job["code"]] = f"Choose a whole number from 0 to {job['max']}."
        else:
            cleaned[job["code"]] = value
    for spec in product.key_fields:
        value = fields.pop(spec["name"], "")
        value = value.strip() if isinstance(value, str) else value
        if not isinstance(value, str):
            errors[spec["name"]] = "Enter text."
        elif spec.get("required") and not value:
            errors[spec["name"]] = "This field is required."
        elif len(value) > spec.get("max_length", 200):
            errors[spec["name"]] = f"At most {spec.get('max_length', 200)} characters."
        else:
            cleaned[spec["name"]] = value
    for name in fields:
        errors[name] = f"{product.name} keys have no such field."
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_placement(*, account: Account, site: Site | None) -> None:
    if site is not None and site.account_id != account.pk:
        raise ValidationError({"site": "This site belongs to another account."})


def _fingerprint(**request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _replay(existing: SourcingRequest, fingerprint: str) -> list[ProductKey]:
    if existing.fingerprint != fingerprint:
        raise ValidationError(
            "This idempotency key was already used for a different Add Key(s) request.",
            code="idempotency_key_reused",
        )
    return list(existing.keys.select_related("product", "account", "site").order_by("id"))


@transaction.atomic
def source_keys(
    *,
    product: Product,
    quantity: int,
    account: Account,
    site: Site | None,
    fields: dict[str, Any] | None,
    actor: Actor,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> list[ProductKey]:
    """Add Key(s): `quantity` new keys on the account (or its site), all or none.

    With an idempotency key, a repeated request (a double click, an API retry) returns the
    keys of the first one instead of sourcing more."""
    _check_placement(account=account, site=site)
    msp = account.msp
    if msp.kind != Organisation.Kind.MSP:
        raise ValidationError({"account": "Keys are sourced for the accounts of an MSP."})
    if not product.is_active:
        raise ValidationError({"product": "This product is no longer offered."})
    if product.family == Product.Family.CLOUD and not (msp.parent and msp.parent.may_provision_cloud):
        raise ValidationError({"product": "The distributor's agreement does not include Cloud Services."})
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 1 <= quantity <= product.max_quantity
    ):
        raise ValidationError(
            {
                "quantity": (
                    f"{product.name} keys are sourced one at a time."
                    if product.max_quantity == 1
                    else f"Choose a quantity from 1 to {product.max_quantity}."
                )
            }
        )
    cleaned = clean_key_fields(product, fields)
    fingerprint = _fingerprint(
        product=product.pk,
        quantity=quantity,
        account=account.pk,
        site=site.pk if site else None,
        fields=cleaned,
    )
    idempotency_key = (idempotency_key or "").strip() or None
    if idempotency_key is not None:
        if len(idempotency_key) > 200:
            raise ValidationError("An idempotency key has at most 200 characters.", code="idempotency_key")
        existing = SourcingRequest.objects.filter(msp=msp, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
    now = now or timezone.now()
    try:
        # A savepoint: a concurrent request with the same idempotency key wins the unique
        # index, and this one then answers with that request's keys.
        with transaction.atomic():
            request = SourcingRequest.objects.create(
                msp=msp,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                product=product,
                quantity=quantity,
                created_at=now,
                created_by=actor.user,
            )
    except IntegrityError:
        return _replay(SourcingRequest.objects.get(msp=msp, idempotency_key=idempotency_key), fingerprint)
    keys = ProductKey.objects.bulk_create(
        [
            ProductKey(
                key=keyformat.generate(),
                product=product,
                msp=msp,
                account=account,
                site=site,
                state=State.UNUSED,
                fields=cleaned,
                sourcing_request=request,
                created_at=now,
                created_by=actor.user,
            )
            for _ in range(quantity)
        ]
    )
    states.record_sourced(keys, actor=actor, at=now)
    record(
        actor=actor,
        action="key.source",
        organisation=msp,
        obj=request,
        changes={
            "product": product.code,
            "quantity": quantity,
            "account": account.pk,
            "site": site.pk if site else None,
            "fields": cleaned,
            "keys": [k.key for k in keys],
        },
    )
    return keys


def _lock(key: ProductKey) -> ProductKey:
    """The key as it is now, locked until the transaction ends (the caller's copy may be stale)."""
    return ProductKey.objects.select_for_update(of=("self",)).select_related("product", "msp").get(pk=key.pk)


def _audit(key: ProductKey, *, actor: Actor, action: str, old: str) -> None:
    record(actor=actor, action=action, organisation=key.msp, obj=key, changes={"state": [old, key.state]})


@transaction.atomic
def move_key(
    *, key: ProductKey, account: Account, site: Site | None, actor: Actor, now: datetime | None = None
) -> ProductKey:
    """Change the Account/Site association, within the MSP that holds the key. Billing
    follows: the key is billed where it is at the month's end."""
    key = _lock(key)
    _check_placement(account=account, site=site)
    if account.msp_id != key.msp_id:
        raise ValidationError({"account": "A key moves only between accounts and sites of its own MSP."})
    site_id = site.pk if site else None
    if (key.account_id, key.site_id) == (account.pk, site_id):
        return key
    now = now or timezone.now()
    states.settle(key, now=now)
    changes = {"account": [key.account_id, account.pk], "site": [key.site_id, site_id]}
    before = {key.pk: (key.edition, key.account_id, key.site_id)}
    key.account, key.site = account, site
    key.save(update_fields=["account", "site"])
    states.record_move([key], before=before, actor=actor, now=now)
    record(actor=actor, action="key.move", organisation=key.msp, obj=key, changes=changes)
    return key


def move_site_keys(*, site: Site, account: Account, actor: Actor, now: datetime | None = None) -> None:
    """The keys of `site` follow it to `account` (the caller moves the site, in its transaction)."""
    now = now or timezone.now()
    keys = list(ProductKey.objects.select_for_update(of=("self",)).select_related("msp").filter(site=site))
    for key in keys:
        states.settle(key, now=now)
    before = {k.pk: (k.edition, k.account_id, k.site_id) for k in keys}
    ProductKey.objects.filter(pk__in=[k.pk for k in keys]).update(account=account)
    for key in keys:
        key.account = account
    states.record_move(keys, before=before, actor=actor, now=now)


def _require_deactivatable(key: ProductKey) -> None:
    if not key.product.can_deactivate:
        raise ValidationError(f"{key.product.name} keys cannot be deactivated or reactivated.")


def _withdraw(key: ProductKey, *, actor: Actor, now: datetime) -> None:
    old = key.state
    if old == State.DEACTIVATION_REQUESTED:
        states.apply(
            key,
            states.WITHDRAW_DEACTIVATION,
            actor=actor,
            now=now,
            to=states.active_state_at(key.last_call_home_at, now),
        )
    else:
        states.apply(key, states.WITHDRAW_REACTIVATION, actor=actor, now=now)
    _audit(key, actor=actor, action="key.withdraw_request", old=old)


@transaction.atomic
def request_deactivation(*, key: ProductKey, actor: Actor, now: datetime | None = None) -> ProductKey:
    """Deactivate: final at the next call home, or at once when the product is already past
    its offline lease. On a pending reactivation it withdraws that request instead."""
    key = _lock(key)
    _require_deactivatable(key)
    now = now or timezone.now()
    old = key.state
    if old == State.DEACTIVATION_REQUESTED:
        if key.is_offline_at(now):
            # Past its lease the product no longer runs licensed: final now (effective at the
            # lease's end), not at the next sweep.
            states.apply(key, states.LEASE_EXPIRED, actor=actor, now=now)
            _audit(key, actor=actor, action="key.deactivate", old=old)
        return key
    if old == State.REACTIVATION_REQUESTED:
        _withdraw(key, actor=actor, now=now)
    elif old in (State.OK, State.CRITICAL):
        if key.is_offline_at(now):
            states.apply(key, states.DEACTIVATE_OFFLINE, actor=actor, now=now)
            _audit(key, actor=actor, action="key.deactivate", old=old)
        else:
            states.apply(key, states.REQUEST_DEACTIVATION, actor=actor, now=now)
            _audit(key, actor=actor, action="key.request_deactivation", old=old)
    else:
        raise ValidationError(f"A key that is {key.status_label.lower()} cannot be deactivated.")
    return key


@transaction.atomic
def request_reactivation(*, key: ProductKey, actor: Actor, now: datetime | None = None) -> ProductKey:
    """Reactivate: final at the next call home (from any machine). On a pending
    deactivation it withdraws that request: the key stays active."""
    key = _lock(key)
    _require_deactivatable(key)
    now = now or timezone.now()
    # A pending deactivation past the offline lease is already final: Reactivate then asks
    # for a reactivation instead of withdrawing it.
    states.settle(key, now=now)
    old = key.state
    if old == State.REACTIVATION_REQUESTED:
        return key
    if old == State.DEACTIVATION_REQUESTED:
        _withdraw(key, actor=actor, now=now)
    elif old == State.DEACTIVATED:
        states.apply(key, states.REQUEST_REACTIVATION, actor=actor, now=now)
        _audit(key, actor=actor, action="key.request_reactivation", old=old)
    else:
        raise ValidationError(f"A key that is {key.status_label.lower()} cannot be reactivated.")
    return key


@transaction.atomic
def withdraw_request(*, key: ProductKey, actor: Actor, now: datetime | None = None) -> ProductKey:
    """Withdraw a pending deactivation or reactivation before the product calls home."""
    key = _lock(key)
    now = now or timezone.now()
    if states.settle(key, now=now):
        raise ValidationError(
            "The deactivation became final when the product's offline lease ended "
            f"({key.last_call_home_at + states.offline_lease():%Y-%m-%d %H:%M} UTC)."
        )
    if not key.has_pending_request:
        raise ValidationError("This key has no pending request to withdraw.")
    _withdraw(key, actor=actor, now=now)
    return key
