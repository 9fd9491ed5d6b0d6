"""Many active keys at once, written in bulk (keys and their open spans as the state machine
leaves them), for tests that need a thousand keys but not their history."""

from __future__ import annotations

from datetime import datetime, timedelta

from keyledger.billing.models import ActiveSpan
from keyledger.customers.models import Account
from keyledger.keys.models import Product, ProductKey


def _key_text(number: int) -> str:
    digits = f"{number:020d}"
    return "-".join([digits[0:5], digits[5:10], digits[10:15], digits[15:20], "BULK0"])


def many_active_keys(
    account: Account, count: int, *, since: datetime, code: str = "spmsp"
) -> list[ProductKey]:
    product = Product.objects.get(code=code)
    first = ProductKey.objects.count()
    keys = ProductKey.objects.bulk_create(
        [
            ProductKey(
                key=_key_text(first + n),
                product=product,
                msp=account.msp,
                account=account,
                state=ProductKey.State.OK,
                machine_name=f"PC{first + n:05d}",
                machine_hardware_id=f"HW{first + n}",
                machine_software_id=f"SW{first + n}",
                edition="server" if product.editions else "",
                version="5.2.7",
                activated_at=since,
                last_call_home_at=since,
                critical_due_at=since + timedelta(hours=72),
                created_at=since,
            )
            for n in range(count)
        ]
    )
    ActiveSpan.objects.bulk_create(
        [
            ActiveSpan(
                key=key,
                msp=account.msp,
                product=product,
                period_start=since,
                started_at=since,
                edition=key.edition,
                account=account,
                machine_name=key.machine_name,
            )
            for key in keys
        ]
    )
    return keys
