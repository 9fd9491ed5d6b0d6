"""An open-loop load generator at a fixed rate (wrk2 is not in Debian): Python asyncio over
raw HTTP/1.1 keep-alive connections.

Request i is due at start + i / rate, whatever happened to the ones before; its latency is
measured from that due time, not from when it was sent, so a server that falls behind is
charged for the wait of every request queued behind the slow one (no coordinated omission).
Limits: at most `connections` requests are outstanding; when all are busy the next ones go
out late, and their lateness counts in their latency. The generator is one Python process on
the same cores as the server: how late it woke for requests it was waiting to send is
reported (`send_lag`), and the time from sending to the answer (`service`), so that a late
generator is told apart from a slow server. Good for hundreds to a few thousand
requests per second, not more.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Answer:
    number: int
    status: int
    headers: dict[str, str]
    body: bytes
    latency: float  # seconds from the request's due time


@dataclass
class Result:
    rate: float
    sent: int
    seconds: float
    latencies: list[float]  # seconds from each request's due time to its answer, sorted
    send_lag: list[float]  # seconds the generator woke late for a request it waited for, sorted
    service: list[float]  # seconds from each request's sending to its answer, sorted
    errors: int  # answers other than 200, and broken connections
    samples: list[Answer] = field(default_factory=list)

    def percentile(self, values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = b""
    return status, headers, body


async def _drive(
    host: str,
    port: int,
    path: str,
    body: Callable[[int], bytes],
    *,
    rate: float,
    seconds: float,
    connections: int,
    sample_every: int,
) -> Result:
    total = max(1, int(rate * seconds))
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5  # time to open the connections
    latencies: list[float] = []
    lag: list[float] = []
    service: list[float] = []
    samples: list[Answer] = []
    errors = 0
    next_number = 0

    async def connection() -> None:
        nonlocal next_number, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_number < total:
                number = next_number
                next_number += 1
                due = start + number / rate
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    # Woken late: the generator's own lag (a request picked up already late
                    # waited for a free connection, which is the server's queue).
                    lag.append(loop.time() - due)
                payload = body(number)
                request = (
                    f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                    f"X-Forwarded-Proto: https\r\nContent-Length: {len(payload)}\r\n\r\n"
                ).encode() + payload
                sent_at = loop.time()
                try:
                    writer.write(request)
                    await writer.drain()
                    status, headers, answer = await _read_answer(reader)
                except (OSError, asyncio.IncompleteReadError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                answered_at = loop.time()
                latency = answered_at - due
                latencies.append(latency)
                service.append(answered_at - sent_at)
                if status != 200:
                    errors += 1
                if sample_every and number % sample_every == 0:
                    samples.append(Answer(number, status, headers, answer, latency))
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - began - 0.5
    return Result(
        rate=rate,
        sent=total,
        seconds=elapsed,
        latencies=sorted(latencies),
        send_lag=sorted(lag),
        service=sorted(service),
        errors=errors,
        samples=samples,
    )


def run(
    url: str,
    path: str,
    body: Callable[[int], bytes],
    *,
    rate: float,
    seconds: float,
    connections: int = 64,
    sample_every: int = 10,
) -> Result:
    """POST `body(i)` to `path` at `rate` requests per second for `seconds`."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    drive = _drive(
        host,
        int(port),
        path,
        body,
        rate=rate,
        seconds=seconds,
        connections=connections,
        sample_every=sample_every,
    )
    # In a thread of its own: asyncio.run() refuses a thread where an event loop already
    # runs (a test process that drove a browser through Playwright has one).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, drive).result()
