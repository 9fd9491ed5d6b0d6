"""`keyledger serve`: its plan of processes, threads and connections, and the real server:
requests under way finish after SIGTERM, and 4 processes x 8 threads never hold more
PostgreSQL connections than their pools allow."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import OperationalError, connection

from keyledger.ops import server
from tests.ops.processes import environment, get, serve, stop_all

pytestmark = pytest.mark.django_db


def plan(**fields) -> server.Plan:
    values = {
        "host": "127.0.0.1",
        "port": 8000,
        "processes": 1,
        "threads": 4,
        "pool_size": 4 if connection.vendor == "postgresql" else 0,
        "grace_seconds": 30,
        "static_root": None,
    }
    return server.Plan(**{**values, **fields})


def test_the_command_line_names_processes_threads_and_the_grace_period():
    out = StringIO()
    call_command(
        "serve",
        "127.0.0.1:8123",
        "--processes",
        "1",
        "--threads",
        "3",
        "--grace",
        "7",
        "--print-command",
        stdout=out,
    )
    words = out.getvalue().split()
    assert words[1:3] == ["-m", "granian"]
    for option, value in [
        ("--workers", "1"),
        ("--blocking-threads", "3"),
        ("--port", "8123"),
        ("--workers-kill-timeout", "7"),
        ("--interface", "wsgi"),
    ]:
        assert words[words.index(option) + 1] == value
    assert words[-1] == "keyledger.wsgi:application"


def test_static_files_are_served_by_granian_with_a_long_expiry():
    command = server.granian_command(plan(static_root=Path("/srv/static")))
    assert command[command.index("--static-path-mount") + 1] == "/srv/static"
    assert command[command.index("--static-path-route") + 1] == "/static"
    assert command[command.index("--static-path-expires") + 1] == str(365 * 86400)


def test_several_processes_need_redis_for_the_shared_limits(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        server.check_plan(plan(processes=2))
    server.check_plan(plan(processes=1))


@pytest.mark.parametrize("address", ["8000x", "host:99999", "127.0.0.1:"])
def test_a_bad_address_is_refused(address):
    with pytest.raises(ImproperlyConfigured, match="ADDRESS:PORT"):
        server.parse_address(address)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: its max_connections")
def test_more_connections_than_postgresql_has_free_are_refused(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    with pytest.raises(ImproperlyConfigured, match="max_connections"):
        server.check_plan(plan(processes=1000, threads=8, pool_size=8))
    server.check_plan(plan(processes=2, threads=8, pool_size=2))


def test_sigterm_lets_the_request_under_way_finish(tmp_path):
    env = environment(tmp_path, DJANGO_SETTINGS_MODULE="tests.ops.slow_settings")
    env.pop("DATABASE_URL")  # an SQLite file of its own: this request needs no data
    process = serve(["--processes", "1", "--threads", "2", "--grace", "20"], env=env, tmp_path=tmp_path)
    answers: list[tuple[int, bytes]] = []
    slow = threading.Thread(target=lambda: answers.append(get(process.url + "/test/slow?seconds=2")))
    try:
        slow.start()
        time.sleep(0.7)  # the request is in the view now
        started = time.monotonic()
        assert process.stop(timeout=30) == 0, process.output()
        slow.join(timeout=10)
        assert answers == [(200, b"finished\n")]
        assert 1.0 <= time.monotonic() - started < 15  # it waited for the request, not for the grace
        with pytest.raises(OSError):
            get(process.url + "/healthz", timeout=2)
    finally:
        stop_all([process])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: its connection pool")
def test_four_processes_of_eight_threads_stay_within_their_pools(tmp_path, redis_prefix):
    application = f"kl-pool-{uuid.uuid4().hex[:8]}"
    env = environment(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.ops.slow_settings",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CACHE_KEY_PREFIX=redis_prefix,
        PGAPPNAME=application,
    )
    process = serve(
        ["--processes", "4", "--threads", "8", "--pool-size", "2", "--grace", "10"],
        env=env,
        tmp_path=tmp_path,
    )
    s = connection.settings_dict
    watcher = psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            (count,) = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application]
            ).fetchone()
            seen.append(count)
            time.sleep(0.02)

    watching = threading.Thread(target=watch)
    try:
        watching.start()
        with ThreadPoolExecutor(64) as pool:
            answers = list(
                pool.map(lambda _: get(process.url + "/test/slow-database?seconds=0.3"), range(96))
            )
    finally:
        done.set()
        watching.join(timeout=10)
        watcher.close()
        stop_all([process])
    assert [status for status, _ in answers] == [200] * 96, process.output()[-3000:]
    assert max(seen) <= 4 * 2
    assert max(seen) >= 4  # the load did spread over several processes' pools


def test_collected_static_files_are_served_by_granian_with_a_year_of_caching(tmp_path):
    env = environment(tmp_path, KEYLEDGER_STATIC_MANIFEST="1")
    env.pop("DATABASE_URL")
    process = serve(["--processes", "1", "--threads", "2", "--grace", "10"], env=env, tmp_path=tmp_path)
    try:
        manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
        hashed = next(path for name, path in manifest.items() if name.endswith(".css"))
        with urllib.request.urlopen(f"{process.url}/static/{hashed}", timeout=10) as response:  # noqa: S310
            assert response.status == 200
            assert response.headers["Cache-Control"] == "max-age=31536000"
            assert response.headers["Server"] == "granian"  # answered before Python
    finally:
        stop_all([process])


def test_each_serve_counts_afresh_in_a_metrics_directory_of_its_address(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    stale = tmp_path / "metrics" / "127.0.0.1-8000" / "counter_123.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from a server that ran before")
    env = server.environment(plan(pool_size=3))
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(stale.parent)
    assert stale.parent.is_dir() and not stale.exists()
    assert env["DATABASE_POOL_SIZE"] == "3"


def test_a_database_that_does_not_answer_at_start_is_left_to_readyz(monkeypatch):
    def refused() -> int:
        raise OperationalError("connection refused")

    monkeypatch.setattr(server, "_free_connections", refused)
    assert server.free_connections() is None
