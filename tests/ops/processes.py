"""Real Keyledger processes for the tests: `keyledger serve` and `keyledger worker` on the test's
own database (the pytest database itself on PostgreSQL; a file copy of it on SQLite)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test uses (its settings, as pytest-django made them)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "KEYLEDGER_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "keyledger.settings",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "PROMETHEUS_MULTIPROC_DIR", "REDIS_URL", "DATABASE_POOL_SIZE"):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    url: str = ""
    stopped: bool = field(default=False)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 45) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # The whole group: a granian worker whose master is killed would live on.
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
            raise AssertionError(
                f"{self.name} did not stop within {timeout} s:\n{self.output()[-3000:]}"
            ) from None


def keyledger(args: list[str], *, env: dict[str, str], log: Path, name: str) -> Process:
    handle = log.open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-c", "from keyledger.cli import main; main()", *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: nothing it starts outlives the test
    )
    handle.close()
    return Process(name=name, popen=popen, log=log)


def serve(args: list[str], *, env: dict[str, str], tmp_path: Path, name: str = "serve") -> Process:
    port = free_port()
    process = keyledger(
        ["serve", f"127.0.0.1:{port}", *args], env=env, log=tmp_path / f"{name}.log", name=name
    )
    process.url = f"http://127.0.0.1:{port}"
    wait_until_up(process)
    return process


def wait_until_up(process: Process, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited:\n{process.output()[-3000:]}")
        try:
            with urllib.request.urlopen(process.url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{process.name} did not start:\n{process.output()[-3000:]}")


def stop_all(processes: list[Process]) -> None:
    for process in processes:
        if process.popen.poll() is None:
            process.popen.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(timeout=10)
    for process in processes:
        # Whatever of its group outlived it (a worker its master left behind) ends with the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 (a local test server)
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
