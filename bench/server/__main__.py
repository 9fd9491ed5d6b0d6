"""Call home through the production server and a real load generator, on PostgreSQL and then
on SQLite: req/s, p50/p99, call home / no-op ratio, CPU per request, HOT updates.

For each database (each in a process of its own, bench.server.run): N active keys on a
throw-away database (a test database beside DATABASE_URL's PostgreSQL one, dropped
afterwards; a fresh SQLite file in a temporary directory); the production server
(`keyledger serve`, with the benchmark's settings, which add a no-op endpoint behind the same
middleware); wrk driving steady call homes of distinct keys, then the no-op endpoint,
interleaved over several rounds; then an open-loop fixed rate at half the measured maximum,
with a sample of answers verified against the signing key.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.server import wrk

POSTGRES = ("postgres:", "postgresql:", "pgsql:")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000, help="active keys (default 100,000)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds of each measured run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--connections",
        type=int,
        default=0,
        help="keep-alive connections of wrk and of the fixed-rate generator (default: the server's "
        "processes x threads, the requests it answers at once)",
    )
    parser.add_argument("--only", choices=("pg", "sqlite"), help="one database only")
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/0",
        help="REDIS_URL of the server (the rate limits' shared cache; default the local Redis, "
        "when it answers; '' for each process's own memory)",
    )
    parser.add_argument("--server-args", default="", help="more arguments of the server command, quoted")
    return parser.parse_args(argv)


def redis_answers(url: str) -> bool:
    if not url:
        return False
    host_port = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host, int(port or 6379)), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    if wrk.available() is None:
        print(f"The call-home benchmark needs wrk. Install it with:\n  {wrk.INSTALL}", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL", "")
    databases = []
    if options.only in (None, "pg"):
        if url.startswith(POSTGRES):
            databases.append("pg")
        elif options.only == "pg":
            print(
                "--only pg needs DATABASE_URL=postgres://… (a test database is made beside it)",
                file=sys.stderr,
            )
            return 2
        else:
            print(
                "PostgreSQL skipped: set DATABASE_URL=postgres://… to bench it (a test database beside it)."
            )
    if options.only in (None, "sqlite"):
        databases.append("sqlite")
    redis = options.redis if redis_answers(options.redis) else ""
    if options.redis and not redis:
        print(
            f"Redis at {options.redis} does not answer: each server process keeps its own rate-limit counts."
        )
    results: list[dict[str, Any]] = []
    for database in databases:
        workdir = Path(tempfile.mkdtemp(prefix="keyledger-bench-"))
        try:
            env = dict(os.environ)
            if database == "sqlite":
                env.pop("DATABASE_URL", None)
            env["KEYLEDGER_DATA_DIR"] = str(workdir)
            out = workdir / "results.json"
            argv_child = [
                sys.executable,
                "-m",
                "bench.server.run",
                f"--keys={options.keys}",
                f"--seconds={options.seconds}",
                f"--rounds={options.rounds}",
                f"--connections={options.connections}",
                f"--redis={redis}",
                f"--server-args={options.server_args}",
                f"--results={out}",
            ]
            finished = subprocess.run(argv_child, env=env, check=False)
            if finished.returncode != 0:
                print(f"The run on {database} failed ({finished.returncode}).", file=sys.stderr)
                return finished.returncode
            results.append(json.loads(out.read_text()))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    summary(results)
    return 0


def summary(results: list[dict[str, Any]]) -> None:
    print()
    print(
        f"Call home, production server, {os.cpu_count()} cores shared by server, database and load generator"
    )
    print(
        f"{'':12}{'call home/s':>12}{'no-op/s':>9}{'ratio':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'fixed/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}{'CPU ms':>8}{'HOT':>7}"
    )
    for r in results:
        rounds = r["rounds"]

        def med(kind: str, name: str, rounds: list[dict[str, Any]] = rounds) -> float:
            return statistics.median(x[kind][name] for x in rounds)

        fixed = r["open_loop"]
        errors = (
            sum(x["call_home"]["errors"] + x["no_op"]["errors"] for x in rounds)
            + fixed["errors"]
            + r["wrk_samples"]["bad"]
            + fixed["samples"]["bad"]
        )
        hot = r.get("hot", {}).get("share")
        print(
            f"{r['database']:12}{med('call_home', 'per_second'):12.1f}{med('no_op', 'per_second'):9.1f}"
            f"{statistics.median(x['ratio'] for x in rounds):7.2f}{med('call_home', 'p50_ms'):8.1f}"
            f"{med('call_home', 'p99_ms'):8.1f}{fixed['rate']:9.1f}{fixed['p50_ms']:8.1f}{fixed['p99_ms']:8.1f}"
            f"{errors:8d}{med('call_home', 'cpu_ms'):8.2f}{'' if hot is None else f'{100 * hot:6.1f}%':>7}"
        )
    print(
        "(call home/s, no-op/s, ratio, p50/p99: wrk, closed loop, medians of the rounds; fixed/s: the open-loop "
        "rate, half that maximum, with its p50/p99 from each request's due time; errors: every answer but "
        "200 and every bad signature sampled; CPU ms: the server processes' CPU per call home; HOT: the share "
        "of keys_productkey's updates that were heap-only)"
    )


if __name__ == "__main__":
    sys.exit(main())
