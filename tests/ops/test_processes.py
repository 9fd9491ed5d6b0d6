"""Several web processes and several workers on one database, as a fleet runs them.

Two `keyledger serve` processes and two `keyledger worker` processes on the test's database
and one Redis (a key prefix of the test's own, removed afterwards). Call homes go through
both servers; keys are made silent by writing their last call home in the past (no waiting);
each key must turn Critical once (one event, in one alert email), and last month's
statements be made final once. The rate limits, kept in Redis, hold across the two servers.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from keyledger.api import ratelimit
from keyledger.audit.models import AuditEntry
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.keys.models import KeyEvent, ProductKey
from keyledger.testing import concurrency
from keyledger.testing.billing import active_key
from keyledger.testing.redis import REDIS_URL
from keyledger.testing.tree import build_tree
from tests.ops.processes import (
    Process,
    environment,
    free_port,
    get,
    keyledger,
    post,
    stop_all,
    wait_until_up,
)

KEYS = 24
SILENT = 16
TOKEN = "metrics-test-token"


@pytest.fixture
def shared_database(transactional_db, final_statements_removable, tmp_path):
    """The test database, reachable from other processes (on SQLite: a file copy of it)."""
    yield from concurrency.shared_database(tmp_path)


def start_servers(count: int, env: dict[str, str], tmp_path) -> list[Process]:
    servers = []
    for n in range(count):
        port = free_port()
        server = keyledger(
            ["serve", f"127.0.0.1:{port}", "--processes", "1", "--threads", "4", "--grace", "10"],
            env=env,
            log=tmp_path / f"serve-{n}.log",
            name=f"serve-{n}",
        )
        server.url = f"http://127.0.0.1:{port}"
        servers.append(server)
    for server in servers:
        wait_until_up(server)
    return servers


def call_home_body(key: ProductKey, nonce: str) -> bytes:
    machine = {"name": f"M-{key.pk}", "hardware_id": f"HW-{key.pk}", "software_id": f"SW-{key.pk}"}
    body = {"key": key.key, "machine": machine, "product": "spmsp", "edition": "server", "nonce": nonce}
    return json.dumps(body).encode()


def wait_for(condition, timeout: float, what: str, processes: list[Process]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in processes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: several workers claim keys with row locks (SKIP LOCKED), which SQLite "
    "has not; on one SQLite machine a single worker runs (run with DATABASE_URL=postgres://…)",
)
def test_two_servers_and_two_workers_turn_each_silent_key_critical_once(
    shared_database,
    tmp_path,
    redis_prefix,
):
    tree = build_tree()
    now = timezone.now()
    # Active since before last month began: last month has something to bill.
    keys = [
        active_key(tree.account_a1 if n % 2 else tree.account_b1, now - timedelta(days=70))
        for n in range(KEYS)
    ]
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = environment(
        tmp_path,
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=redis_prefix,
        KEYLEDGER_STATEMENT_GRACE_DAYS="0",
        KEYLEDGER_METRICS_TOKEN=TOKEN,
        KEYLEDGER_REQUEST_LOG="0",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
    )
    processes: list[Process] = []
    try:
        servers = start_servers(2, env, tmp_path)
        processes += servers
        # Every key calls home, through one server or the other: all OK again, as of now.
        for n, key in enumerate(keys):
            status, body = post(servers[n % 2].url + "/api/v1/call-home", call_home_body(key, f"n-{n}"))
            assert (status, json.loads(body)["status"]) == (200, "active"), body
        assert set(ProductKey.objects.values_list("state", flat=True)) == {ProductKey.State.OK}

        workers = [
            keyledger(
                ["worker", "--interval", "0.3"], env=env, log=tmp_path / f"worker-{n}.log", name=f"worker-{n}"
            )
            for n in range(2)
        ]
        processes += workers
        # Silent for longer than the critical threshold, written set-based: no waiting.
        silent = keys[:SILENT]
        past = now - timedelta(hours=100)
        ProductKey.objects.filter(pk__in=[k.pk for k in silent]).update(
            last_call_home_at=past, critical_due_at=past + timedelta(hours=72)
        )
        critical = ProductKey.objects.filter(state=ProductKey.State.CRITICAL)
        wait_for(lambda: critical.count() == SILENT, 40, "the silent keys to turn Critical", processes)
        month = Month.of(now).previous
        statements = Statement.objects.filter(month=month.first_day)
        wait_for(
            lambda: statements.exists() and not statements.filter(status=Statement.Status.DRAFT).exists(),
            40,
            "last month's statements to be final",
            processes,
        )
        time.sleep(1)  # a few more sweeps and billing runs: nothing more may happen
        status, scraped = get(servers[1].url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        for process in processes:
            assert process.stop() == 0, process.output()[-3000:]
    finally:
        stop_all(processes)

    # Each silent key turned Critical once: one event, listed in one alert email.
    assert set(critical.values_list("pk", flat=True)) == {k.pk for k in silent}
    events = Counter(
        KeyEvent.objects.filter(new_state=ProductKey.State.CRITICAL).values_list("key_id", flat=True)
    )
    assert events == dict.fromkeys((k.pk for k in silent), 1)
    mail = "\n".join(w.output() for w in workers)
    for key in keys:
        assert mail.count(key.key) == (1 if key in silent else 0), key.key
    subjects = re.findall(r"^Subject: .+$", mail, flags=re.MULTILINE)
    assert 1 <= len(subjects) <= 4  # two managing organisations, one email per worker's sweep each at most
    # Last month's statements were made final once each.
    finalised = Counter(
        AuditEntry.objects.filter(action="statement.finalise").values_list("object_id", flat=True)
    )
    statement_ids = {str(pk) for pk in statements.values_list("pk", flat=True)}
    assert statement_ids and {str(k): v for k, v in finalised.items()} == dict.fromkeys(statement_ids, 1)
    # The workers' counts reach /metrics through the shared multiprocess directory.
    text = scraped.decode()
    assert f'keyledger_worker_swept_keys_total{{transition="turn_critical"}} {float(SILENT)}' in text
    assert f"keyledger_statements_finalised_by_worker_total {float(len(statement_ids))}" in text
    assert 'keyledger_call_homes_total{outcome="active"} ' + f"{float(KEYS)}" in text


def test_the_rate_limits_hold_across_two_servers_sharing_redis(shared_database, tmp_path, redis_prefix):
    tree = build_tree()
    key = active_key(tree.account_a1, timezone.now() - timedelta(days=1))
    env = environment(
        tmp_path,
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=redis_prefix,
        KEYLEDGER_RATE_LIMIT_PER_KEY="4",
        KEYLEDGER_REQUEST_LOG="0",
    )
    servers = start_servers(2, env, tmp_path)
    try:
        # The limit counts in fixed windows: six calls that straddle a window's end would
        # start counting again. Begin them with the window's last 15 seconds to spare.
        if (left := ratelimit.WINDOW_SECONDS - time.time() % ratelimit.WINDOW_SECONDS) < 15:
            time.sleep(left + 0.1)
        statuses = [
            post(servers[n % 2].url + "/api/v1/call-home", call_home_body(key, f"n-{n}"))[0] for n in range(6)
        ]
    finally:
        stop_all(servers)
    # Three calls reached each server: only a count they share stops the fifth and sixth.
    assert statuses == [200, 200, 200, 200, 429, 429]
