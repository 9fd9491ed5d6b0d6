"""The little SQL that differs between SQLite and PostgreSQL, and raw-query helpers.

Billing and the reports are computed in the database with plain SQL (CTEs, window functions,
CASE): the same text on both, but for reading a JSON number, cutting a path, and how a
datetime goes in and comes out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

SAFE_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass
class Sql:
    """SQL text with %s placeholders and its parameters, in order."""

    text: str
    params: list[Any] = field(default_factory=list)


def vendor() -> str:
    return connection.vendor


def dt(value: datetime) -> Any:
    """A datetime as a query parameter, as the ORM would write it."""
    return connection.ops.adapt_datetimefield_value(value)


def as_datetime(value: Any) -> datetime | None:
    """A datetime read from a raw query (SQLite gives text or naive UTC values)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is None:
            raise ValueError("Not a datetime from the database.")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def json_int(column: str, name: str) -> str:
    """A whole number read from a JSON object column, 0 when absent."""
    if not SAFE_NAME.match(name):
        raise ValueError(f"Not a safe JSON member name: {name!r}")
    if vendor() == "postgresql":
        return f"COALESCE(({column}->>'{name}')::bigint, 0)"
    return f"COALESCE(CAST(json_extract({column}, '$.{name}') AS INTEGER), 0)"


def path_segment_id(path_column: str, prefix_length: int) -> str:
    """The organisation id that follows the first `prefix_length` characters of a
    materialised path ("/1/4/9/" after "/1/" is 4): the child, on the path, of the
    organisation whose path is that prefix."""
    rest = f"substr({path_column}, {int(prefix_length) + 1})"
    find = "strpos" if vendor() == "postgresql" else "instr"
    return f"CAST(substr({rest}, 1, {find}({rest}, '/') - 1) AS BIGINT)"


def fetch(sql: Sql) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        return cursor.fetchall()


def fetch_dicts(sql: Sql) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def iso_text(column: str) -> str:
    """SQL for a datetime column as `2026-11-03T14:05:00Z` (seconds, UTC; NULL stays NULL),
    cut out of the text the database writes cheaply: on PostgreSQL its own text in the
    connection's time zone, UTC (`2026-11-03 14:05:00.123+00`), on SQLite the stored text.
    Written by the database, so a million rows of a CSV file need no Python per value."""
    text = f"CAST({column} AS TEXT)" if vendor() == "postgresql" else column
    return f"(substr({text}, 1, 10) || 'T' || substr({text}, 12, 8) || 'Z')"


def stream(sql: Sql, *, chunk: int = 2000) -> Iterator[Sequence[Any]]:
    """Rows a chunk at a time, so that memory stays flat however many rows there are.

    On PostgreSQL an ordinary query streamed by psycopg (rows arrive as the server sends
    them): measured at a million rows twice as fast as a server-side cursor, which may not
    run in parallel. On SQLite, its own stepping through the rows."""
    if vendor() == "postgresql":
        import psycopg

        # Chunks need libpq 17 or newer (psycopg[binary] brings its own); older: row by row.
        size = chunk if psycopg.pq.version() >= 170000 else 1
        with connection.cursor() as wrapper:
            yield from wrapper.cursor.stream(sql.text, sql.params, size=size)
        return
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        while rows := cursor.fetchmany(chunk):
            yield from rows
