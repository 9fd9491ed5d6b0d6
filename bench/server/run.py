"""One database's run of the call-home benchmark (python -m bench.server runs one per
database, each in its own process): the keys, the server, the load, the figures.

Its environment names the database as for `make bench`: DATABASE_URL a PostgreSQL URL (a
test database is created beside it and dropped afterwards), or none (a fresh SQLite file in
KEYLEDGER_DATA_DIR, a temporary directory of the parent's).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import keyledger.testing.environment  # noqa: F401 (a throw-away SECRET_KEY and hosts)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyledger.settings")
warnings.filterwarnings("ignore", "No directory at")

NO_OP = "/bench/no-op"
CALL_HOME = "/api/v1/call-home"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.server.run")
    parser.add_argument("--keys", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--redis", default="")
    parser.add_argument("--server-args", default="")
    parser.add_argument("--results", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    import django
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)
        created = None
    else:
        created = setup_databases(verbosity=0, interactive=False)
    try:
        results = bench(options)
    finally:
        connection.close()
        if created is not None:
            teardown_databases(created, verbosity=0)
    options.results.write_text(json.dumps(results, indent=1))
    return 0


def server_environment(workdir: Path, redis: str) -> dict[str, str]:
    """The production configuration (DEBUG off, HTTPS behind a proxy), but for the per-address
    rate limit: every request of the bench comes from 127.0.0.1."""
    from django.db import connection

    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER']}"
            + (f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else "")
            + f"@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
    else:
        env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.server.settings",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        KEYLEDGER_DATA_DIR=os.environ["KEYLEDGER_DATA_DIR"],
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        BEHIND_PROXY="1",
        KEYLEDGER_RATE_LIMIT_PER_IP=str(10**9),
        LOG_LEVEL="WARNING",
    )
    if redis:
        env["REDIS_URL"] = redis
        env["CACHE_KEY_PREFIX"] = f"keyledger-bench-{os.getpid()}"
    else:
        env.pop("REDIS_URL", None)
    return env


def hot_counters() -> tuple[int, int] | None:
    """(updates, HOT updates) of the keys table so far (PostgreSQL's statistics), read from a
    connection of its own once the server's backends have exited and so reported theirs."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    connection.close()
    time.sleep(1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'keys_productkey'"
        )
        updates, hot = cursor.fetchone()
    connection.close()
    return int(updates), int(hot)


def table_size() -> dict[str, int] | None:
    """The keys table's bytes on PostgreSQL (rows, indexes), to scale to a fleet's size."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_table_size('keys_productkey'), pg_indexes_size('keys_productkey'),"
            " (SELECT COUNT(*) FROM keys_productkey)"
        )
        table, indexes, rows = cursor.fetchone()
    return {"table": int(table), "indexes": int(indexes), "rows": int(rows)}


def database_pids() -> list[int]:
    """The PostgreSQL backends serving the bench's database (their CPU is the database's)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def bench(options: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection

    from bench.server import data, server, verify
    from keyledger.api import signing

    vendor = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}[connection.vendor]
    print(f"== Call home on {vendor}: {options.keys:,} active keys ==", flush=True)
    keys = data.create(options.keys)
    for name, seconds in keys.seconds.items():
        print(f"  {name:28}{seconds:8.1f} s")
    print(f"  {keys.witnesses} witness keys through the real actions, {keys.msps} MSPs")
    for rule, broken in keys.checks:
        print(f"  {rule}: {'ok' if broken == 0 else f'BROKEN by {broken:,} rows'}")
    if any(broken for _, broken in keys.checks):
        raise SystemExit("The keys break the rules above: nothing measured on them would mean anything.")
    signing.public_key_base64()  # the key file exists before several processes read it
    workdir = Path(tempfile.mkdtemp(prefix="keyledger-bench-server-"))
    keys_file = workdir / "keys.txt"
    data.write_keys(keys, keys_file)
    env = server_environment(workdir, options.redis)
    with socket_port() as port:
        address = f"127.0.0.1:{port}"
    argv = server.command(address, options.server_args.split(), env)
    before_hot = hot_counters()
    url = f"http://{address}"
    running = server.start(argv, env=env, url=url, log=workdir / "server.log")
    try:
        pids = running.pids()
        print(f"  server: {' '.join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))}")
        banner = running.banner(workdir / "server.log")
        print(
            f"  {banner or f'{len(pids)} server processes'}; cache: {options.redis or 'per-process memory'}"
        )
        # As many keep-alive connections as the server answers requests at once: granian
        # (keyledger serve) serves no more connections than that at a time, and a connection
        # beyond them waits until another closes, which a closed-loop run would not count.
        capacity = re.search(r"(\d+) process\(es\) x (\d+) thread", banner)
        if not options.connections:
            options.connections = int(capacity[1]) * int(capacity[2]) if capacity else 16
        print(f"  {options.connections} keep-alive connections", flush=True)
        public_key = verify.fetch_public_key(url)
        results = load(
            options, url=url, keys_file=keys_file, keys=keys, running=running, public_key=public_key
        )
    finally:
        running.stop()
    after_hot = hot_counters()
    results["database"] = vendor
    results["server"] = " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))
    results["server_processes"] = len(pids)
    results["server_banner"] = banner
    results["connections"] = options.connections
    results["keys"] = options.keys
    if before_hot and after_hot:
        updates, hot = after_hot[0] - before_hot[0], after_hot[1] - before_hot[1]
        results["hot"] = {"updates": updates, "hot_updates": hot, "share": hot / updates if updates else None}
    results["table"] = table_size()
    report(results)
    return results


class socket_port:
    """A free TCP port on 127.0.0.1 (free when looked at; the server takes it next)."""

    def __enter__(self) -> int:
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        return self.socket.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.socket.close()


def load(
    options: argparse.Namespace,
    *,
    url: str,
    keys_file: Path,
    keys: Any,
    running: Any,
    public_key: bytes,
) -> dict[str, Any]:
    from bench.server import data, openloop, server, verify, wrk

    offset = 0
    sample_base = keys_file.parent / "answers"

    def measured(what: str, path: str, seconds: float, sample: bool) -> wrk.Run:
        nonlocal offset
        pids = running.pids()
        db_pids = database_pids()
        cpu, db_cpu = server.cpu_seconds(pids), server.cpu_seconds(db_pids)
        result = wrk.run(
            what,
            url + path,
            keys_file=keys_file,
            offset=offset,
            seconds=seconds,
            connections=options.connections,
            threads=1,
            sample_file=sample_base if sample else None,
            sample_every=50 if sample else 0,
        )
        result.cpu_seconds = server.cpu_seconds(pids) - cpu
        if db_pids:
            result.db_cpu_seconds = server.cpu_seconds(db_pids) - db_cpu
        offset += result.requests
        return result

    # Warm-up, not counted: connections opened, code paths and caches warm.
    measured("warm-up", CALL_HOME, 2, sample=False)
    measured("warm-up", NO_OP, 2, sample=False)
    rounds: list[dict[str, Any]] = []
    for number in range(1, options.rounds + 1):
        # Call home first in odd rounds, the no-op first in even ones: neither always runs
        # right after the other, on a machine whose load drifts.
        order = [("call home", CALL_HOME), ("no-op", NO_OP)]
        if number % 2 == 0:
            order.reverse()
        runs = {
            what: measured(what, path, options.seconds, sample=what == "call home") for what, path in order
        }
        ch, noop = runs["call home"], runs["no-op"]
        rounds.append(
            {
                "round": number,
                "call_home": asdict(ch) | {"per_second": ch.per_second, "cpu_ms": ch.cpu_ms_per_request},
                "no_op": asdict(noop) | {"per_second": noop.per_second, "cpu_ms": noop.cpu_ms_per_request},
                "ratio": ch.per_second / noop.per_second,
            }
        )
        print(
            f"  round {number}: call home {ch.per_second:7.1f}/s (p50 {ch.p50_ms:.1f} ms, p99 {ch.p99_ms:.1f} ms, "
            f"{ch.errors} errors), no-op {noop.per_second:7.1f}/s, ratio {ch.per_second / noop.per_second:.2f}",
            flush=True,
        )
    wrk_samples = verify.wrk_samples(sample_base, public_key)
    maximum = statistics.median(r["call_home"]["per_second"] for r in rounds)
    rate = maximum / 2
    start = offset

    def body(i: int) -> bytes:
        n = (start + i) % len(keys.keys)
        return data.body(n, keys.keys[n], f"open-{start + i}")

    pids = running.pids()
    db_pids = database_pids()
    cpu, db_cpu = server.cpu_seconds(pids), server.cpu_seconds(db_pids)
    # The generator sends on time only if it gets a core when a request is due: on a machine
    # shared with other work, it asks for a higher priority (root may; it uses little CPU).
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    try:
        fixed = openloop.run(
            url,
            CALL_HOME,
            body,
            rate=rate,
            seconds=max(options.seconds, 10.0),
            connections=options.connections,
        )
    finally:
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, 0, niceness)
    fixed_cpu = server.cpu_seconds(pids) - cpu
    fixed_db_cpu = server.cpu_seconds(db_pids) - db_cpu if db_pids else None
    checked = verify.open_loop_samples(fixed.samples, public_key, keys=keys.keys, start=start)
    return {
        "rounds": rounds,
        "wrk_samples": wrk_samples,
        "open_loop": {
            "rate": rate,
            "sent": fixed.sent,
            "seconds": fixed.seconds,
            "p50_ms": 1000 * fixed.percentile(fixed.latencies, 50),
            "p99_ms": 1000 * fixed.percentile(fixed.latencies, 99),
            "max_ms": 1000 * fixed.latencies[-1] if fixed.latencies else None,
            "send_lag_p99_ms": 1000 * fixed.percentile(fixed.send_lag, 99),
            "from_send_p99_ms": 1000 * fixed.percentile(fixed.service, 99),
            "over_1s": sum(1 for x in fixed.latencies if x >= 1.0),
            "errors": fixed.errors,
            "cpu_ms": 1000 * fixed_cpu / max(1, fixed.sent),
            "db_cpu_ms": None if fixed_db_cpu is None else 1000 * fixed_db_cpu / max(1, fixed.sent),
            "samples": checked,
        },
    }


def report(results: dict[str, Any]) -> None:
    rounds = results["rounds"]

    def med(path: tuple[str, str]) -> float:
        return statistics.median(r[path[0]][path[1]] for r in rounds)

    ratio = statistics.median(r["ratio"] for r in rounds)
    errors = sum(r["call_home"]["errors"] + r["no_op"]["errors"] for r in rounds)
    fixed = results["open_loop"]
    print(f"  Median of {len(rounds)} interleaved rounds (wrk, {results['server']}):")
    for label, key in (("call home", "call_home"), ("no-op", "no_op")):
        db = [r[key]["db_cpu_seconds"] for r in rounds]
        db_ms = (
            ""
            if None in db
            else f", database {statistics.median(1000 * r[key]['db_cpu_seconds'] / max(1, r[key]['requests']) for r in rounds):.2f} ms"
        )
        print(
            f"    {label:10}{med((key, 'per_second')):8.1f} req/s  p50 {med((key, 'p50_ms')):6.1f} ms  "
            f"p99 {med((key, 'p99_ms')):6.1f} ms  CPU per request: server {med((key, 'cpu_ms')):.2f} ms{db_ms}"
        )
    print(f"    call home / no-op: {ratio:.2f} (goal ≥ 0.6); errors: {errors}")
    samples = results["wrk_samples"]
    print(f"    signatures of {samples['checked']} sampled wrk answers: {samples['bad']} bad")
    print(
        f"  Fixed rate (open loop, {fixed['rate']:.0f}/s = half the median maximum, {fixed['sent']} requests): "
        f"p50 {fixed['p50_ms']:.1f} ms, p99 {fixed['p99_ms']:.1f} ms (goal ≤ 25), max {fixed['max_ms']:.1f} ms, "
        f"{fixed['errors']} errors; the generator woke late by p99 {fixed['send_lag_p99_ms']:.1f} ms, "
        f"p99 from sending {fixed['from_send_p99_ms']:.1f} ms"
    )
    db_ms = "" if fixed["db_cpu_ms"] is None else f", database {fixed['db_cpu_ms']:.2f} ms"
    print(f"    CPU per request: server {fixed['cpu_ms']:.2f} ms{db_ms}")
    if fixed["over_1s"]:
        # A keep-alive connection the server does not take up (granian accepts at most
        # --backpressure connections per process) waits until another one closes.
        print(f"    {fixed['over_1s']} answers came 1 s or more after they were due")
    s = fixed["samples"]
    print(f"    {s['checked']} sampled answers verified (signature, key, nonce, active): {s['bad']} bad")
    if "hot" in results:
        hot = results["hot"]
        share = "n/a" if hot["share"] is None else f"{100 * hot['share']:.1f} %"
        print(
            f"  keys_productkey: {hot['updates']:,} updates during the load, {hot['hot_updates']:,} HOT ({share})"
        )
    if results.get("table"):
        size = results["table"]
        print(
            f"  keys_productkey: {size['table'] / 2**20:.1f} MiB of rows and {size['indexes'] / 2**20:.1f} MiB of "
            f"indexes for {size['rows']:,} keys ({(size['table'] + size['indexes']) / size['rows']:.0f} bytes a key)"
        )


if __name__ == "__main__":
    sys.exit(main())
