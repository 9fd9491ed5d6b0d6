"""Call home, the path every installed product takes every day, measured in-process three
ways: the service called directly, the whole request through Django's test client (routing,
middleware, parsing, rate limits, signing; no server, no socket, no load generator), and
the worker's sweep of keys gone silent. Through the production server and a real load
generator: `make bench-server` (bench/server).

Runs on a throw-away database: a fresh SQLite file in a new temporary directory (always,
unless DATABASE_URL is a PostgreSQL URL), or a test database created next to the given
PostgreSQL one and dropped afterwards.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import timedelta

if not os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:", "pgsql:")):
    # SQLite: always a fresh file of the bench's own, whatever the environment points at,
    # so that a bench never writes into a real database.
    os.environ.pop("DATABASE_URL", None)
    os.environ["KEYLEDGER_DATA_DIR"] = tempfile.mkdtemp(prefix="keyledger-bench-")
    atexit.register(shutil.rmtree, os.environ["KEYLEDGER_DATA_DIR"], ignore_errors=True)
import keyledger.testing.environment  # noqa: F401 (a throw-away SECRET_KEY and hosts)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyledger.settings")
# One JSON line per request on standard output would bury the figures (the in-process
# requests still go through the middleware that writes it).
os.environ.setdefault("KEYLEDGER_REQUEST_LOG", "0")
# The bench serves no static files; WhiteNoise's note that none were collected is noise here.
warnings.filterwarnings("ignore", "No directory at")
TEST_CLIENT = "call home, in-process (Django's test client)"


def _timed(label: str, count: int, call: Callable[[int], None]) -> dict[str, float | str]:
    durations = []
    started = time.perf_counter()
    for number in range(count):
        before = time.perf_counter()
        call(number)
        durations.append(time.perf_counter() - before)
    total = time.perf_counter() - started
    durations.sort()
    return {
        "what": label,
        "count": count,
        "per second": count / total,
        "p50 ms": 1000 * statistics.median(durations),
        "p95 ms": 1000 * durations[int(0.95 * (len(durations) - 1))],
    }


def run(keys: int, calls: int) -> list[dict[str, float | str]]:
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from keyledger.audit.actor import Actor, Channel
    from keyledger.customers.models import Account
    from keyledger.keys import actions
    from keyledger.keys.call_home import Report, call_home
    from keyledger.keys.models import Product
    from keyledger.keys.sweeper import sweep
    from keyledger.organisations.models import Organisation
    from keyledger.testing.tree import make_org

    settings.KEYLEDGER_RATE_LIMIT_PER_IP = settings.KEYLEDGER_RATE_LIMIT_PER_KEY = 10**9
    vendor = make_org(parent=None, kind=Organisation.Kind.VENDOR, name="Bench Vendor")
    distributor = make_org(parent=vendor, kind=Organisation.Kind.DISTRIBUTOR, name="Bench Distribution")
    msp = make_org(parent=distributor, kind=Organisation.Kind.MSP, name="Bench MSP")
    account = Account.objects.create(msp=msp, name="Bench Account")
    product = Product.objects.get(code="spmsp")
    actor = Actor.system(Channel.CLI)
    sourced = []
    while len(sourced) < keys:
        quantity = min(product.max_quantity, keys - len(sourced))
        sourced += actions.source_keys(
            product=product, quantity=quantity, account=account, site=None, fields={}, actor=actor
        )
    product_actor = Actor(channel=Channel.PRODUCT, ip="198.51.100.1")

    def report(number: int) -> Report:
        key = sourced[number % keys]
        return Report(
            key=key.key,
            product="spmsp",
            machine_name=f"BENCH-{number % keys:05d}",
            hardware_id=f"HW-{number % keys}",
            software_id=f"SW-{number % keys}",
            nonce=str(number),
            edition="server",
            version="5.2.7",
            os="Windows Server 2022",
        )

    results = [
        _timed(
            "first call home (activation)",
            keys,
            lambda n: call_home(report=report(n), actor=product_actor, now=timezone.now()),
        ),
        _timed(
            "call home, service in-process",
            calls,
            lambda n: call_home(report=report(n), actor=product_actor, now=timezone.now()),
        ),
    ]
    client = Client()

    def over_http(number: int) -> None:
        r = report(number)
        body = {
            "key": r.key,
            "machine": {"name": r.machine_name, "hardware_id": r.hardware_id, "software_id": r.software_id},
            "product": r.product,
            "edition": r.edition,
            "version": r.version,
            "os": r.os,
            "nonce": r.nonce,
        }
        response = client.post("/api/v1/call-home", json.dumps(body), content_type="application/json")
        if response.status_code != 200:
            raise SystemExit(f"call home answered {response.status_code}: {response.content!r}")

    results.append(_timed(TEST_CLIENT, calls, over_http))
    later = timezone.now() + timedelta(hours=settings.KEYLEDGER_CRITICAL_HOURS + 1)
    started = time.perf_counter()
    swept = sweep(now=later)
    elapsed = time.perf_counter() - started
    if len(swept.turned_critical) != keys:
        raise SystemExit(f"the sweep turned {len(swept.turned_critical)} of {keys} keys Critical")
    results.append(
        {
            "what": "sweep: keys turned Critical",
            "count": keys,
            "per second": keys / elapsed,
            "p50 ms": "",
            "p95 ms": "",
        }
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=500, help="product keys (default 500)")
    parser.add_argument(
        "--calls", type=int, default=3000, help="steady-state call homes per measure (default 3000)"
    )
    options = parser.parse_args(argv)

    import django
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    print(
        f"Keyledger bench on {connection.vendor}, in-process (no server; `make bench-server` runs one): "
        f"{options.keys} keys, {options.calls} calls per measure"
    )
    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)  # the fresh file in the throw-away data directory
        created = None
    else:
        created = setup_databases(verbosity=0, interactive=False)
    try:
        results = run(options.keys, options.calls)
    finally:
        if created is not None:
            teardown_databases(created, verbosity=0)
    print(f"{'':46}{'count':>8}{'per second':>12}{'p50 ms':>9}{'p95 ms':>9}")
    for row in results:
        cells = [
            f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c])
            for c in ("per second", "p50 ms", "p95 ms")
        ]
        print(f"{row['what']:46}{row['count']:>8}{cells[0]:>12}{cells[1]:>9}{cells[2]:>9}")
    print("Ratios of the measures above (this run, this machine):")
    for line in ratios(results):
        print(f"  {line}")


def ratios(results: list[dict[str, float | str]]) -> list[str]:
    """How the paths compare, from throughputs measured in the same run: absolute numbers
    depend on the machine, ratios much less."""
    rate = {str(row["what"]): float(row["per second"]) for row in results}
    steady = rate["call home, service in-process"]
    client = rate[TEST_CLIENT]
    return [
        f"test client / service in-process: {steady / client:.2f}x the time per call",
        f"first call home / steady call home: {steady / rate['first call home (activation)']:.2f}x the time per call",
        f"sweep / steady call home: {rate['sweep: keys turned Critical'] / steady:.2f}x the keys per second",
    ]


if __name__ == "__main__":
    sys.exit(main())
