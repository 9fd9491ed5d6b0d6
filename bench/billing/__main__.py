"""Billing and reports at scale: a synthetic channel of a million keys (checked against the
invariants of real histories), then the month close, the Activation Report CSV and the
first pages of the reports, each next to a baseline the database runs in the same run.

Runs on a throw-away database: a fresh SQLite file in a new temporary directory (always,
unless DATABASE_URL is a PostgreSQL URL), or a test database created next to the given
PostgreSQL one and dropped afterwards.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import warnings

if not os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:", "pgsql:")):
    # SQLite: always a fresh file of the bench's own, whatever the environment points at,
    # so that a bench never writes into a real database.
    os.environ.pop("DATABASE_URL", None)
    os.environ["KEYLEDGER_DATA_DIR"] = tempfile.mkdtemp(prefix="keyledger-bench-")
    atexit.register(shutil.rmtree, os.environ["KEYLEDGER_DATA_DIR"], ignore_errors=True)
import keyledger.testing.environment  # noqa: F401 (a throw-away SECRET_KEY and hosts)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyledger.settings")
# One JSON line per request (the report pages run through the middleware that writes it, and
# the CSV's server process inherits this) would bury the figures.
os.environ.setdefault("KEYLEDGER_REQUEST_LOG", "0")
warnings.filterwarnings("ignore", "No directory at")

MEASURES = ("close", "csv", "pages")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.billing", description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000, help="product keys (default 1,000,000)")
    parser.add_argument("--msps", type=int, help="MSPs (default: one per 200 keys)")
    parser.add_argument("--distributors", type=int, help="distributors (default: one per 100 MSPs)")
    parser.add_argument(
        "--big-msp-keys", type=int, help="keys of the MSP whose report pages are measured (default 10,000)"
    )
    parser.add_argument("--runs", type=int, default=7, help="runs of each report page (default 7)")
    parser.add_argument(
        "--only",
        choices=("data", *MEASURES),
        action="append",
        help="measure only this (repeatable); 'data' builds and checks the dataset only",
    )
    options = parser.parse_args(argv)
    options.msps = options.msps or max(1, options.keys // 200)
    options.distributors = options.distributors or max(1, options.msps // 100)
    options.big_msp_keys = options.big_msp_keys or min(10_000, max(1, options.keys // 10))
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)

    import django
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    from bench.billing import run
    from bench.billing.data import Scale

    scale = Scale(
        keys=options.keys,
        msps=options.msps,
        distributors=options.distributors,
        big_msp_keys=options.big_msp_keys,
    )
    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)  # the fresh file in the throw-away data directory
        created = None
    else:
        created = setup_databases(verbosity=0, interactive=False)
    try:
        return run.bench(scale, measures=options.only or list(MEASURES), runs=options.runs)
    finally:
        connection.close()
        if created is not None:
            teardown_databases(created, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
