"""The run: build and check the dataset, take each measure beside its baseline, print."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from bench.billing import csv_export, invariants, month_close, report_pages
from bench.billing import sqlbits as q
from bench.billing.data import Dataset, Scale, generate


def bench(scale: Scale, *, measures: list[str], runs: int) -> int:
    print(
        f"Keyledger billing bench on {connection.vendor}: {scale.keys:,} keys, {scale.msps:,} MSPs, "
        f"{scale.distributors:,} distributors; the biggest MSP holds {scale.big_msp_keys:,} keys"
    )
    data = build(scale)
    print(f"Closing {data.month} ({data.month.label}), now {data.now:%Y-%m-%d %H:%M} UTC")
    # A goal not met is a figure to read, not a failed run: the exit status is for errors.
    for measure in measures:
        if measure != "data":
            MEASURES[measure](data, runs=runs)
    return 0


def build(scale: Scale) -> Dataset:
    data = generate(scale, now=timezone.now())
    print("Dataset (written set-based; the time to write it is not the benchmark):")
    for name, seconds in data.seconds.items():
        rows = data.counts.get(name)
        print(f"  {name:24}{'' if rows is None else f'{rows:>12,} rows':>18}{seconds:>9.1f} s")
    totals = q.execute(
        """SELECT (SELECT COUNT(*) FROM keys_keyevent), (SELECT COUNT(*) FROM billing_activespan),
                  (SELECT COUNT(*) FROM billing_activespan WHERE ended_at IS NULL),
                  (SELECT COUNT(DISTINCT key_id) FROM billing_activespan)"""
    )[0]
    print(
        f"  {totals[0]:,} events, {totals[1]:,} active spans ({totals[2]:,} open) over "
        f"{totals[3]:,} activated keys"
    )
    print("Invariants of real histories:")
    results = invariants.check(data.now)
    for result in results:
        verdict = "ok" if result.broken == 0 else f"BROKEN by {result.broken:,} rows"
        print(f"  {result.rule}: {verdict} ({result.seconds:.1f} s)")
    if any(r.broken for r in results):
        raise SystemExit(
            "The dataset breaks the invariants above: nothing measured on it would mean anything."
        )
    return data


MEASURES = {"close": month_close.measure, "csv": csv_export.measure, "pages": report_pages.measure}
