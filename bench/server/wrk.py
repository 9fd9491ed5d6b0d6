"""Closed-loop load from wrk (Debian's package) with the bench's Lua script: as many requests
as `connections` keep-alive connections carry, for `seconds`; the throughput is the
server's maximum for that concurrency."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("call_home.lua")
INSTALL = "apt-get install -y wrk   (Debian's package; as root, after apt-get update)"


def available() -> str | None:
    return shutil.which("wrk")


@dataclass
class Run:
    what: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors, timeouts and answers other than 200
    statuses: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # the server processes'
    db_cpu_seconds: float | None = None  # the database server's backends' (PostgreSQL)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.requests)


def run(
    what: str,
    url: str,
    *,
    keys_file: Path,
    offset: int,
    seconds: float,
    connections: int,
    threads: int,
    sample_file: Path | None = None,
    sample_every: int = 0,
) -> Run:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(keys_file),
        str(offset),
        str(threads),
        str(sample_file or ""),
        str(sample_every),
    ]
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in finished.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if finished.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    statuses = {str(k): int(v) for k, v in data["statuses"].items()}
    errors = (
        data["connect_errors"]
        + data["read_errors"]
        + data["write_errors"]
        + data["timeouts"]
        + sum(v for k, v in statuses.items() if k != "200")
    )
    return Run(
        what=what,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        statuses=statuses,
    )
