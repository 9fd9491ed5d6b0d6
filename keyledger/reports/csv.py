"""Reports as CSV files (SPEC §9): UTF-8, a header row, every row, times in ISO 8601 UTC
(`2026-11-03T14:05:00Z`), empty where there is none.

The rows come from the database a chunk at a time (keyledger.billing.sql.stream) and leave
as a StreamingHttpResponse a few dozen kilobytes at a time, so a file of a million rows
takes no more memory than one of ten. The portal, the API and `keyledger report` all write
through this module, so their files are the same bytes.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, BinaryIO

from django.http import StreamingHttpResponse

from keyledger.billing.sql import as_datetime

# Bytes gathered before a piece of the file is handed on, and rows written at a time.
CHUNK = 64 * 1024
BATCH = 500


def iso_time(value: Any) -> str:
    """A datetime from the database as `2026-11-03T14:05:00Z` (seconds, UTC); "" for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        # Naive values are UTC (SQLite's); aware ones are moved to UTC if they are not.
        if value.tzinfo is not None:
            if value.utcoffset():
                value = value.astimezone(UTC)
            value = value.replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, str) and len(value) >= 19 and value[10] in " T" and value[19:20] in ("", "."):
        # SQLite's own text for a UTC datetime: reading it is a slice, not a parse.
        return f"{value[:10]}T{value[11:19]}Z"
    moment = as_datetime(value)
    assert moment is not None
    return iso_time(moment)


def iso_date(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def encode(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The CSV file as pieces of bytes: the header row, then every row (written a batch at
    a time: the csv module's loop over a batch runs in C)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    rows = iter(rows)
    while batch := list(itertools.islice(rows, BATCH)):
        writer.writerows(batch)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    answer = StreamingHttpResponse(encode(header, rows), content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{filename}"'
    answer["Cache-Control"] = "private, no-store"
    return answer


def write(target: BinaryIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write the file to an open binary file; the number of bytes written."""
    written = 0
    for piece in encode(header, rows):
        target.write(piece)
        written += len(piece)
    return written
