"""Prometheus metrics (prometheus_client), served at /metrics behind KEYLEDGER_METRICS_TOKEN.

Counters and histograms live in the process that counts them. `keyledger serve` starts
several processes, so it sets PROMETHEUS_MULTIPROC_DIR: each process writes its values
there and whichever process answers /metrics adds them all up (prometheus_client's
multiprocess mode). A worker started with the same directory on the same machine shows up
too. The database-wide figures (keys by state, the sweeper's lag, statements) are the same
from every process: they are read from the database at scrape time and shared for 15 to 60
seconds through the cache, so a fleet of web processes queries them once per interval.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from django.core.cache import cache
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# How long the database's figures are shared through the cache. The sweeper's lag is one
# indexed MIN(); counting keys by state reads the whole table, so it is read less often.
LAG_SECONDS = 15
COUNTS_SECONDS = 60

REQUEST_SECONDS = Histogram(
    "keyledger_http_request_duration_seconds",
    "Time to answer a request, by route (URL pattern name), method and status.",
    ["route", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CALL_HOMES = Counter(
    "keyledger_call_homes",
    "Call homes answered, by outcome: active, deactivated, or the protocol's error code.",
    ["outcome"],
)
SWEEPS = Counter("keyledger_worker_sweeps", "Sweeps run by the background worker.")
SWEPT_KEYS = Counter(
    "keyledger_worker_swept_keys", "Keys moved by the worker's sweep, by transition.", ["transition"]
)
BILLING_RUNS = Counter(
    "keyledger_statement_finalisation_runs",
    "Runs of the worker's billing step (close months, refresh drafts, finalise due drafts), by result.",
    ["result"],
)
STATEMENTS_FINALISED = Counter(
    "keyledger_statements_finalised_by_worker", "Draft statements the worker's billing step made final."
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class DatabaseCollector(Collector):
    """Figures read from the database when scraped (cached briefly, see LAG_SECONDS)."""

    def collect(self) -> Iterator[Metric]:
        figures = cache.get_or_set("keyledger:metrics:counts", database_counts, COUNTS_SECONDS)
        lag = cache.get_or_set("keyledger:metrics:lag", sweeper_lag, LAG_SECONDS)
        keys = GaugeMetricFamily("keyledger_keys", "Product keys by state.", labels=["state"])
        for state, count in sorted(figures["keys"].items()):
            keys.add_metric([state], count)
        yield keys
        yield GaugeMetricFamily(
            "keyledger_sweeper_lag_seconds",
            "How long the oldest key due for the sweep (silent past the critical threshold, or "
            "past its offline lease) has waited; 0 when none waits.",
            value=lag,
        )
        statements = GaugeMetricFamily(
            "keyledger_statements", "Monthly statements by status.", labels=["status"]
        )
        for status, count in sorted(figures["statements"].items()):
            statements.add_metric([status], count)
        yield statements


def database_counts() -> dict[str, dict[str, int]]:
    from keyledger.billing.models import Statement
    from keyledger.keys.models import ProductKey

    keys = {state.value: 0 for state in ProductKey.State}
    for row in ProductKey.objects.order_by().values("state").annotate(n=Count("id")):
        keys[row["state"]] = row["n"]
    statements = {status.value: 0 for status in Statement.Status}
    for row in Statement.objects.order_by().values("status").annotate(n=Count("id")):
        statements[row["status"]] = row["n"]
    return {"keys": keys, "statements": statements}


def sweeper_lag() -> float:
    """Seconds since the oldest key the sweep has yet to take became due (0: none waits)."""
    from keyledger.keys.models import ProductKey

    now = timezone.now()
    # The sweep's own condition (keys.states.sweep): these two states, critical_due_at passed,
    # and sweep_after (never later than it) passed or unset, which lets the sweep's index
    # find the few candidates instead of reading every active key.
    oldest = (
        ProductKey.objects.filter(
            Q(sweep_after__lt=now) | Q(sweep_after__isnull=True),
            state__in=[ProductKey.State.OK, ProductKey.State.DEACTIVATION_REQUESTED],
            critical_due_at__lt=now,
        )
        .order_by()
        .aggregate(oldest=Min("critical_due_at"))["oldest"]
    )
    return (now - oldest).total_seconds() if oldest else 0.0


def render() -> bytes:
    """The text exposition of every metric: this process's (or all of serve's processes') and the database's."""
    parts: Iterable[CollectorRegistry]
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        parts = [registry]
    else:
        parts = [REGISTRY]
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return b"".join(generate_latest(r) for r in [*parts, database])


def record_sweep(turned_critical: int, lease_expired: int) -> None:
    SWEEPS.inc()
    if turned_critical:
        SWEPT_KEYS.labels("turn_critical").inc(turned_critical)
    if lease_expired:
        SWEPT_KEYS.labels("lease_expired").inc(lease_expired)


def record_billing_run(*, finalised: int, failed: bool = False) -> None:
    BILLING_RUNS.labels("failed" if failed else "ok").inc()
    if finalised:
        STATEMENTS_FINALISED.inc(finalised)
