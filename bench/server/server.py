"""The production server the benchmark starts, and the CPU time of its processes.

`keyledger serve` (granian) with its own defaults for processes, threads and pooling, the
recommended settings; on a Keyledger whose `serve` is still Django's development server,
gunicorn (if installed) stands in. The command line is printed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def command(address: str, extra: list[str], env: dict[str, str]) -> list[str]:
    """The command line of the server, listening at host:port `address`."""
    keyledger = _bin("keyledger")
    helped = subprocess.run(
        [keyledger, "serve", "--help"], env=env, capture_output=True, text=True, timeout=60, check=False
    ).stdout
    if helped and "--noreload" not in helped:
        return [keyledger, "serve", address, *extra]
    gunicorn = _bin("gunicorn")
    if not Path(gunicorn).exists() and shutil.which(gunicorn) is None:
        raise SystemExit(
            "keyledger serve is still Django's development server and gunicorn is not installed: "
            "nothing to benchmark. pip install gunicorn, or use a Keyledger with a production serve."
        )
    return [gunicorn, "--bind", address, "--workers", "2", *extra, "keyledger.wsgi:application"]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    argv: list[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def pids(self) -> list[int]:
        return tree(self.process.pid)

    def banner(self, log: Path) -> str:
        """What the server said of itself at start-up (keyledger serve: processes, threads, pool)."""
        lines = [x for x in log.read_text(errors="replace").splitlines() if x.startswith("Keyledger on ")]
        return lines[0] if lines else ""


def start(argv: list[str], *, env: dict[str, str], url: str, log: Path) -> Server:
    with log.open("wb") as out:
        # A session of its own: the server's workers are stopped with it, and only they.
        process = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, url, argv)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The server stopped at start-up:\n{log.read_text()[-3000:]}")
        try:
            request = urllib.request.Request(  # noqa: S310 (the bench's own http:// URL)
                url + "/api/v1/signing-key", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"The server did not answer within 90 s:\n{log.read_text()[-3000:]}")


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, user + system CPU ticks) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields follow its last ")".
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree(root: int) -> list[int]:
    """The process and all its descendants."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents.setdefault(stat[0], []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    return sum(stat[1] for pid in pids if (stat := _stat(pid)) is not None) / TICKS
