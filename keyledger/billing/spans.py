"""Keeping a key's active spans (billing.models.ActiveSpan) in step with its state.

keyledger.keys.states calls these inside the transaction that changes the key and writes
its KeyEvent, so a span opens, splits or closes exactly when an event says so. Billing and
the Activation Report read the spans; the events stay the record of what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db.models import Case, Value, When

from keyledger.billing.models import ActiveSpan
from keyledger.keys.models import ProductKey

ACTIVE = ProductKey.ACTIVE_STATES


def placement(key: ProductKey) -> tuple[str, int, int | None]:
    """What a span holds constant: edition, account and site."""
    return (key.edition, key.account_id, key.site_id)


def _new_span(key: ProductKey, *, period_start: datetime, at: datetime) -> ActiveSpan:
    return ActiveSpan(
        key_id=key.pk,
        msp_id=key.msp_id,
        product_id=key.product_id,
        period_start=period_start,
        started_at=at,
        edition=key.edition,
        account_id=key.account_id,
        site_id=key.site_id,
        machine_name=key.machine_name or "",
    )


def after_change(
    key: ProductKey, *, old_state: str, before: tuple[str, int, int | None], at: datetime
) -> None:
    """`key` (as it is now) left `old_state`, with edition/account/site `before`, at `at`."""
    was, now = old_state in ACTIVE, key.state in ACTIVE
    if not was and now:
        _new_span(key, period_start=at, at=at).save(force_insert=True)
    elif was and not now:
        if placement(key) != before:
            # The call home that made the deactivation final also reported a new edition:
            # the period ends under the edition the product last reported.
            split([key], at=at)
        close(key, at=at)
    elif was and now and placement(key) != before:
        split([key], at=at)


def close(key: ProductKey, *, at: datetime) -> None:
    """The key's active period ended at `at` (its deactivation became final then)."""
    ActiveSpan.objects.filter(key_id=key.pk, ended_at__isnull=True).update(
        ended_at=at,
        ends_period=True,
        last_call_home_at=key.last_call_home_at,
        version=key.version,
    )


def close_many(keys: Sequence[ProductKey], *, ends: dict[int, datetime]) -> None:
    """close() for many keys in one UPDATE; `ends` maps key id → end of its period."""
    if not keys:
        return
    ids = [k.pk for k in keys]
    ActiveSpan.objects.filter(key_id__in=ids, ended_at__isnull=True).update(
        ended_at=Case(*[When(key_id=k.pk, then=Value(ends[k.pk])) for k in keys]),
        ends_period=True,
        last_call_home_at=Case(*[When(key_id=k.pk, then=Value(k.last_call_home_at)) for k in keys]),
        version=Case(*[When(key_id=k.pk, then=Value(k.version)) for k in keys]),
    )


def split(keys: Sequence[ProductKey], *, at: datetime) -> None:
    """The keys (active, as they are now) changed edition, account or site at `at`: their
    open spans end there and new ones, in the same active periods, begin."""
    if not keys:
        return
    ids = [k.pk for k in keys]
    open_spans = dict(
        ActiveSpan.objects.filter(key_id__in=ids, ended_at__isnull=True).values_list("key_id", "period_start")
    )
    ActiveSpan.objects.filter(key_id__in=ids, ended_at__isnull=True).update(ended_at=at)
    ActiveSpan.objects.bulk_create([_new_span(k, period_start=open_spans.get(k.pk, at), at=at) for k in keys])
