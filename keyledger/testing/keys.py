"""Product keys in a given state for tests, without calling home."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.customers.models import Account, Site
from keyledger.keys.actions import source_keys
from keyledger.keys.models import Product, ProductKey


def spmsp_keys(account: Account, site: Site | None = None, *, quantity: int = 1) -> list[ProductKey]:
    return source_keys(
        product=Product.objects.get(code="spmsp"),
        quantity=quantity,
        account=account,
        site=site,
        fields={},
        actor=Actor.system(),
    )


def make_critical(key: ProductKey, *, written: bool = False, now: datetime | None = None) -> None:
    """Activated three days ago and silent since. Not `written`: still OK in the table, past
    its critical threshold an hour ago (Critical as of now, before the sweeper writes it)."""
    now = now or timezone.now()
    ProductKey.objects.filter(pk=key.pk).update(
        state=ProductKey.State.CRITICAL if written else ProductKey.State.OK,
        activated_at=now - timedelta(days=3),
        last_call_home_at=now - timedelta(days=3),
        machine_name="FS01",
        machine_hardware_id="HW-1",
        machine_software_id="SW-1",
        critical_due_at=None if written else now - timedelta(hours=1),
    )
