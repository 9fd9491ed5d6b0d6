"""What `keyledger serve` starts: granian over Keyledger's WSGI application, with processes,
threads and database connections that fit together (see the serve command).

Why granian rather than gunicorn: measured side by side, interleaved, in one run on a
2-core machine shared with other work (PostgreSQL, Redis, wrk -t2 -c16, 2 processes x 4
threads each, the same pool of 4 connections a process): a no-op request through the whole
middleware answered 2,977-4,089/s under granian against 1,404-2,226/s under gunicorn's
gthread workers, and the call home 380-431/s against 354-447/s at a median latency of
14-15 ms against 33-47 ms. Call home is bound by the database, so the servers tie there;
granian's Rust HTTP layer leaves more of the CPU to Python, queues excess requests outside
Python (--backpressure), and serves the static files itself. Threads matter more than the
server for call home: 2 processes x 1 thread gave 190-217/s, x 4 threads 461-488/s, so the
default is 4 threads a process.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection

log = logging.getLogger("keyledger.serve")

# Open connections a process takes per thread (granian's --backpressure; see granian_command).
BACKPRESSURE_PER_THREAD = 32


@dataclass(frozen=True)
class Plan:
    host: str
    port: int
    processes: int
    threads: int
    pool_size: int  # PostgreSQL connections per process; 0 on SQLite
    grace_seconds: int
    static_root: Path | None  # served by granian itself when collected

    @property
    def connections(self) -> int:
        return self.processes * self.pool_size


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", address
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"Not an ADDRESS:PORT to listen on: {address!r}")
    return host, int(port)


def check_plan(plan: Plan) -> None:
    """Refuse a shape that cannot work, before any process starts."""
    if plan.processes > 1 and "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        raise ImproperlyConfigured(
            f"{plan.processes} processes need a shared cache for the rate limits and the sign-in "
            "throttle: set REDIS_URL, or serve with --processes 1."
        )
    if not is_postgresql():
        return
    if plan.pool_size < 1:
        raise ImproperlyConfigured("--pool-size must be at least 1 on PostgreSQL.")
    free = free_connections()
    if free is not None and plan.connections > free:
        raise ImproperlyConfigured(
            f"{plan.processes} processes x {plan.pool_size} pooled connections = {plan.connections} "
            f"connections, but PostgreSQL has {free} free (max_connections less the reserved ones "
            "and those in use). Lower --processes or --pool-size (threads then wait for a pooled "
            "connection), or raise max_connections."
        )


def free_connections() -> int | None:
    """Connections PostgreSQL can still open for ordinary roles, or None if it does not answer
    (the server starts all the same and /readyz says 503 until the database answers)."""
    try:
        return _free_connections()
    except DatabaseError as exc:
        log.warning("PostgreSQL does not answer, its free connections are not checked: %s", exc)
        return None


def _free_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        (free,) = cursor.fetchone()
    if not connection.in_atomic_block:
        connection.close()  # this process is about to be replaced: no connection left open
    return int(free) + 1  # this check's own connection, now closed


def environment(plan: Plan) -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "keyledger.settings")
    if plan.pool_size:
        env["DATABASE_POOL_SIZE"] = str(plan.pool_size)
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        # The processes' metrics files, a directory per listening address in the data
        # directory, emptied at start: a restart starts counting afresh (as Prometheus expects
        # of a restarted target) and no file of a dead process lingers.
        directory = Path(settings.DATA_DIR) / "metrics" / f"{plan.host}-{plan.port}"
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    else:
        # A directory the operator chose may be shared with workers and other servers of this
        # machine: it is theirs to empty at boot (prometheus_client's rule), not each server's.
        Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    return env


def granian_command(plan: Plan) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        plan.host,
        "--port",
        str(plan.port),
        "--workers",
        str(plan.processes),
        "--blocking-threads",
        str(plan.threads),
        # Granian holds a keep-alive connection against this bound while it is open, idle or
        # not: set to the threads, a fifth client connection of a 4-thread process waited
        # for another one to close (measured: 4.9 s, the whole run). The threads alone bound
        # the requests Python runs at once (and the pool's connections); the rest queue here.
        "--backpressure",
        str(plan.threads * BACKPRESSURE_PER_THREAD),
        "--workers-kill-timeout",
        str(plan.grace_seconds),
        "--respawn-failed-workers",
        "--no-ws",
        "--log-level",
        "warning",
    ]
    if plan.static_root is not None:
        command += [
            "--static-path-route",
            "/" + settings.STATIC_URL.strip("/"),
            "--static-path-mount",
            str(plan.static_root),
            # Collected files carry their content's hash in their names: cached for a year.
            "--static-path-expires",
            str(365 * 86400),
        ]
    return [*command, "keyledger.wsgi:application"]
