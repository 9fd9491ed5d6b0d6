"""Month close: every draft statement of one month, next to one full scan of the events
table on the same database in the same run.

The scan is the floor any computation over the whole history pays: counting the events with
a condition on a column, so that every row is read (a bare count(*) may be answered from an
index). Until keyledger.billing.statements.close_month exists, the measure is the engine's
month over the whole vendor, summed per MSP, product and edition, and the output says so.
"""

from __future__ import annotations

import importlib
import inspect
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from bench.billing import sqlbits as q
from bench.billing.data import Dataset
from keyledger.billing.engine import Scope, month_keys
from keyledger.billing.models import Statement, StatementItem, StatementLine
from keyledger.billing.sql import Sql, fetch

SCAN = "SELECT COUNT(*) FROM keys_keyevent WHERE length(cause) > 0"


@dataclass
class Closed:
    what: str
    seconds: float
    summary: str


def scan() -> tuple[float, int]:
    with q.stopwatch() as took:
        rows = int(q.scalar(SCAN))
    return took[0], rows


def scan_plan() -> str:
    """How PostgreSQL ran the scan: in parallel or not (and with how many workers)."""
    if not q.postgres():
        return "SQLite reads in one thread"
    plan = q.scalar(f"EXPLAIN (ANALYZE, FORMAT JSON) {SCAN}")
    plan = json.loads(plan) if isinstance(plan, str) else plan  # psycopg parses json itself

    def launched(node: dict) -> int:
        return int(node.get("Workers Launched", 0)) + sum(launched(n) for n in node.get("Plans", []))

    workers = launched(plan[0]["Plan"])
    return f"in parallel, {workers} workers besides the leader" if workers else "not in parallel"


def closer() -> tuple[str, Callable[[Dataset], str]]:
    """The month close to time: the statements module's, or the engine's aggregate."""
    try:
        statements = importlib.import_module("keyledger.billing.statements")
    except ImportError:
        statements = None
    close_month = getattr(statements, "close_month", None)
    if close_month is None:
        return (
            "engine.month_keys over the whole vendor, summed per MSP, product and edition "
            "(keyledger.billing.statements.close_month does not exist yet)",
            _engine_aggregate,
        )

    def close(data: Dataset) -> str:
        keywords = inspect.signature(close_month).parameters
        arguments = {"month": data.month}
        if "now" in keywords:
            arguments["now"] = data.now
        result = close_month(**arguments)
        drafts = Statement.objects.filter(month=data.month.first_day)
        return (
            f"{drafts.count():,} draft statements, {StatementLine.objects.count():,} lines, "
            f"{StatementItem.objects.count():,} items; close_month returned {_describe(result)}"
        )

    return "keyledger.billing.statements.close_month", close


def _describe(result: object) -> str:
    text = repr(result)
    return text if len(text) <= 120 else text[:117] + "..."


def _engine_aggregate(data: Dataset) -> str:
    keys = month_keys(data.month, Scope(path=f"/{data.vendor_id}/"))
    rows = fetch(
        Sql(
            f"""SELECT mk.msp_id, mk.product_id, mk.edition, COUNT(*), SUM(mk.billable)
                FROM ({keys.text}) mk GROUP BY mk.msp_id, mk.product_id, mk.edition""",
            keys.params,
        )
    )
    active = sum(r[3] for r in rows)
    billable = sum(int(r[4]) for r in rows)
    return f"{len(rows):,} MSP/product/edition groups, {active:,} keys active in the month, {billable:,} billable"


def serial_scan() -> float:
    """PostgreSQL's scan without parallel workers: the close's SQL runs its windows and
    groups in one process, so this is the like-for-like floor."""
    with transaction.atomic():
        q.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        return statistics.median(scan()[0] for _ in range(3))


def measure(data: Dataset, *, runs: int) -> None:
    """Scans before and after the close (the baseline is their median); the close again
    (its drafts exist: what following late events costs); the ratios, the goals."""
    what, close = closer()
    scans = [scan() for _ in range(3)]
    with q.stopwatch() as took:
        summary = close(data)
    closed = Closed(what, took[0], summary)
    scans += [scan() for _ in range(2)]
    with q.stopwatch() as again:
        close(data)
    baseline = statistics.median(s for s, _ in scans)
    events = scans[0][1]
    ratio = closed.seconds / baseline
    print("Month close:")
    print(f"  measured: {closed.what}")
    print(f"  {closed.summary}")
    print(
        f"  full scan of keys_keyevent ({events:,} rows, {scan_plan()}): median {baseline:.2f} s "
        f"of {len(scans)} (min {min(s for s, _ in scans):.2f} s, max {max(s for s, _ in scans):.2f} s)"
    )
    if q.postgres():
        print(f"  the same scan without parallel workers: median {serial_scan():.2f} s of 3")
    print(f"  month close {data.month}: {closed.seconds:.2f} s = {ratio:.1f}x the scan")
    print(
        f"  the same close again, its drafts existing: {again[0]:.2f} s = {again[0] / baseline:.1f}x the scan"
    )
    goals = [(closed.seconds <= 60, "<= 60 s")]
    if q.postgres():
        goals.append((ratio <= 3, "<= 3x the scan on PostgreSQL"))
    for met, goal in goals:
        print(f"  goal {goal}: {'met' if met else 'NOT met'}")
