"""The first page of the reports on screen, server time: the request through Django's
handler in this process (the test client: middleware, view, queries, template), median of
several runs after a warm-up, with the number of queries each page makes. The Reports
panel itself (no report chosen) is the baseline: what any page of the portal costs.

Goal: the Billing Detail Report's first page of an MSP with 10,000 keys in < 100 ms.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client

from bench.billing.data import Dataset
from bench.billing.people import people, signed_in
from bench.billing.reports import Page, pages, panel

GOAL_MS = 100


class QueryCounter:
    """Counts the statements sent to the database (Django's own query log is reset by
    every request, so it cannot count around one)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def timed(client: Client, url: str, runs: int) -> tuple[list[float], int, int]:
    """(milliseconds of each run, queries of one, bytes of the page)."""
    answer = client.get(url)
    if answer.status_code != 200:
        raise SystemExit(f"{url} answered {answer.status_code}")
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        client.get(url)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        times.append(1000 * (time.perf_counter() - started))
    return times, counter.count, len(answer.content)


def measure(data: Dataset, *, runs: int) -> None:
    found = pages(data)
    print(f"Report pages (server time through Django's handler, median of {runs} runs after a warm-up):")
    if not found:
        print("  skipped: the Reports tab does not exist yet")
        return
    who = people(data)
    clients = {name: signed_in(getattr(who, name)) for name in {p.viewer for p in found}}
    base_times, _, _ = timed(clients["msp"], panel(), runs)
    base = statistics.median(base_times)
    print(f"  baseline, the Reports panel with no report (the MSP): {base:.0f} ms")
    for page in found:
        times, queries, size = timed(clients[page.viewer], page.url, runs)
        median = statistics.median(times)
        print(
            f"  {page.what}: {median:.0f} ms = {median / base:.1f}x the panel "
            f"(min {min(times):.0f}, max {max(times):.0f}; {queries} queries, {size // 1024} KB)"
        )
        if _is_goal(page):
            print(f"    goal < {GOAL_MS} ms: {'met' if median < GOAL_MS else 'NOT met'}")


def _is_goal(page: Page) -> bool:
    return page.what.startswith("Billing Detail")
