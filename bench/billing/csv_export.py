"""The Activation Report as a CSV file, downloaded from the portal running behind a real
HTTP server in its own process (bench.billing.serve), next to the database's own CSV dump
of the same rows in the same order: COPY … TO STDOUT WITH CSV on PostgreSQL, the sqlite3
command line tool's -csv on SQLite.

Both are read to the end by this process over a pipe or a socket, a megabyte at a time, and
only counted. The server's peak memory is its VmHWM (/proc/<pid>/status): the high-water
mark of its resident set, read before the download (the process warmed up on a page) and
after it.
"""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection

from bench.billing import sqlbits as q
from bench.billing.data import Dataset
from bench.billing.people import people, session_cookie
from bench.billing.reports import activation_csv
from keyledger.billing.sql import Sql

ROOT = Path(__file__).resolve().parents[2]
READ = 1 << 20


@dataclass
class Transfer:
    rows: int
    size: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def child_environment() -> dict[str, str]:
    """The bench's environment, pointed at the bench's own database (PostgreSQL: the test
    database created next to the one DATABASE_URL names)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if q.postgres():
        parts = urlsplit(env["DATABASE_URL"])
        env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    return env


def download(port: int, url: str, cookie: str) -> Transfer:
    link = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    with q.stopwatch() as took:
        link.request("GET", url, headers={"Cookie": cookie, "Host": "127.0.0.1"})
        answer = link.getresponse()
        if answer.status != 200 or not answer.getheader("Content-Type", "").startswith("text/csv"):
            raise SystemExit(f"{url} answered {answer.status} {answer.getheader('Content-Type')}")
        size = lines = 0
        while block := answer.read(READ):
            size += len(block)
            lines += block.count(b"\n")
    link.close()
    return Transfer(rows=lines - 1, size=size, seconds=took[0])


def through_server(url: str, warm_up: str, cookie: str) -> tuple[Transfer, int, int]:
    """(the download, the server's VmHWM before it and after it, in kB)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.billing.serve"],
        cwd=ROOT,
        env=child_environment(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(server.stdout.readline())
        link = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        link.request("GET", warm_up, headers={"Cookie": cookie})
        answer = link.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"{warm_up} answered {answer.status}")
        link.close()
        before = memory_kb(server.pid, "VmHWM")
        transfer = download(port, url, cookie)
        after = memory_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=60)
    return transfer, before, after


def inline(sql: Sql) -> str:
    """The statement with its parameters written in, for a tool that takes no parameters."""
    if q.postgres():
        import psycopg

        connection.ensure_connection()
        return psycopg.ClientCursor(connection.connection).mogrify(sql.text, sql.params)
    pieces = sql.text.split("%s")
    if len(pieces) != len(sql.params) + 1:
        raise ValueError("One parameter per placeholder.")
    out = [pieces[0].replace("%%", "%")]
    for value, piece in zip(sql.params, pieces[1:], strict=True):
        if value is None:
            out.append("NULL")
        elif isinstance(value, bool | int | float):
            out.append(str(int(value) if isinstance(value, bool) else value))
        else:
            out.append(q.text(str(value)))
        out.append(piece.replace("%%", "%"))
    return "".join(out)


def database_dump(select: Sql) -> Transfer:
    statement = inline(select)
    if q.postgres():
        connection.ensure_connection()
        size = lines = 0
        command = f"COPY ({statement}) TO STDOUT WITH (FORMAT csv, HEADER)"
        with q.stopwatch() as took, connection.connection.cursor() as cursor, cursor.copy(command) as copy:
            for block in copy:
                size += len(block)
                lines += bytes(block).count(b"\n")
        return Transfer(rows=lines - 1, size=size, seconds=took[0])
    tool = shutil.which("sqlite3")
    if tool is None:
        raise SystemExit("The sqlite3 command line tool is needed for the database's own CSV dump.")
    with q.stopwatch() as took:
        dump = subprocess.Popen(
            [tool, "-readonly", "-csv", "-header", str(connection.settings_dict["NAME"]), statement],
            stdout=subprocess.PIPE,
        )
        size = lines = 0
        while block := dump.stdout.read(READ):
            size += len(block)
            lines += block.count(b"\n")
        if dump.wait() != 0:
            raise SystemExit("sqlite3 failed to dump the rows")
    return Transfer(rows=lines - 1, size=size, seconds=took[0])


def measure(data: Dataset, *, runs: int) -> None:
    report = activation_csv(data)
    print("Activation Report CSV:")
    if report is None:
        print("  skipped: the Activation Report's CSV view does not exist yet")
        return
    cookie = session_cookie(people(data).vendor)
    dumps = [database_dump(report.select)]
    served, before, after = through_server(report.url, report.warm_up, cookie)
    dumps.append(database_dump(report.select))
    if served.rows != dumps[0].rows:
        raise SystemExit(f"The view wrote {served.rows:,} rows, the database {dumps[0].rows:,}.")
    base = statistics.mean(d.rate for d in dumps)
    ratio = served.rate / base
    tool = "COPY (SELECT …) TO STDOUT WITH CSV" if q.postgres() else "sqlite3 -csv"
    print(f"  {report.describe}: {served.rows:,} rows")
    print(f"  database's own dump ({tool}): " + ", ".join(_rate(d) for d in dumps))
    print(f"  portal over HTTP (wsgiref server process): {_rate(served)} = {ratio:.2f}x the database's rate")
    print(
        f"  server process peak RSS (VmHWM): {after / 1024:.0f} MB "
        f"({before / 1024:.0f} MB after a warm-up page, +{(after - before) / 1024:.0f} MB for the file)"
    )
    for met, goal in (
        (ratio >= 0.5, ">= 0.5x the database's rate"),
        (after < 150 * 1024, "peak RSS < 150 MB"),
    ):
        print(f"  goal {goal}: {'met' if met else 'NOT met'}")


def _rate(transfer: Transfer) -> str:
    return f"{transfer.rate:,.0f} rows/s ({transfer.seconds:.2f} s, {transfer.size / 2**20:.0f} MiB)"
