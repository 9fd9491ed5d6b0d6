"""SIGTERM reaches `keyledger worker` in the middle of a long sweep: the batch under way
commits, the sweep stops there, the alerts of the keys it claimed go out, and the worker
exits. No key is left half-processed: each is Critical with one event and one audit row,
or still OK with none."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.keys import actions
from keyledger.keys.models import KeyEvent, Product, ProductKey
from keyledger.testing import concurrency
from keyledger.testing.tree import build_tree
from tests.ops.processes import environment, keyledger, stop_all

KEYS = 400
BATCH = 2


@pytest.fixture
def shared_database(transactional_db, tmp_path):
    yield from concurrency.shared_database(tmp_path)


def test_sigterm_mid_sweep_stops_between_batches(shared_database, tmp_path):
    tree = build_tree()
    keys = [
        key
        for _ in range(KEYS // 10)
        for key in actions.source_keys(
            product=Product.objects.get(code="spmsp"),
            quantity=10,  # the most one request sources
            account=tree.account_a1,
            site=None,
            fields={},
            actor=Actor.system(),
        )
    ]
    # Active keys silent for 100 hours, written set-based: every one is due for the sweep.
    past = timezone.now() - timedelta(hours=100)
    ProductKey.objects.filter(pk__in=[k.pk for k in keys]).update(
        state=ProductKey.State.OK,
        machine_name="M",
        machine_hardware_id="HW",
        machine_software_id="SW",
        activated_at=past - timedelta(days=1),
        last_call_home_at=past,
        critical_due_at=past + timedelta(hours=72),
    )
    critical = ProductKey.objects.filter(state=ProductKey.State.CRITICAL)
    env = environment(tmp_path, EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
    worker = keyledger(["worker", "--batch", str(BATCH)], env=env, log=tmp_path / "worker.log", name="worker")
    try:
        deadline = time.monotonic() + 60
        while not critical.exists():
            assert worker.popen.poll() is None and time.monotonic() < deadline, worker.output()
            time.sleep(0.005)
        assert worker.stop(timeout=30) == 0, worker.output()
    finally:
        stop_all([worker])

    turned = set(critical.values_list("pk", flat=True))
    assert 0 < len(turned) < KEYS, "the sweep was to stop before its end"
    assert len(turned) % BATCH == 0  # whole batches only
    events = Counter(KeyEvent.objects.filter(new_state="critical").values_list("key_id", flat=True))
    assert events == dict.fromkeys(turned, 1)
    audited = Counter(
        int(pk)
        for pk in AuditEntry.objects.filter(action="key.turn_critical").values_list("object_id", flat=True)
    )
    assert audited == dict.fromkeys(turned, 1)
    assert ProductKey.objects.filter(state=ProductKey.State.OK).count() == KEYS - len(turned)
    output = worker.output()
    assert f"{len(turned)} key(s) turned Critical" in output
    for key in ProductKey.objects.filter(pk__in=[k.pk for k in keys]):
        assert output.count(key.key) == (1 if key.pk in turned else 0)
