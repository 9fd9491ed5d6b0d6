"""The CSV writer and sorting's bad input: ISO times, streamed pieces, and clear errors."""

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from keyledger.reports import csv as report_csv
from keyledger.reports.activation import COLUMNS, sort_for
from keyledger.reports.sorting import SortError


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("", ""),
        ("2026-11-03 14:05:00", "2026-11-03T14:05:00Z"),
        ("2026-11-03 14:05:00.999999", "2026-11-03T14:05:00Z"),
        (datetime(2026, 11, 3, 14, 5, 0, 123, tzinfo=UTC), "2026-11-03T14:05:00Z"),
        (datetime(2026, 11, 3, 15, 5, tzinfo=timezone(timedelta(hours=1))), "2026-11-03T14:05:00Z"),
        ("2026-11-03T15:05:00+01:00", "2026-11-03T14:05:00Z"),
    ],
)
def test_times_are_iso_8601_in_utc(value, text):
    assert report_csv.iso_time(value) == text


def test_a_large_file_leaves_in_pieces_and_reads_back_whole():
    rows = ([f"K{n:07d}", 'Ä, "quoted"', "line\nbreak"] for n in range(20_000))
    pieces = list(report_csv.encode(["A", "B", "C"], rows))
    assert len(pieces) > 5 and all(len(p) < 2 * report_csv.CHUNK for p in pieces)
    lines = list(csv.reader(io.StringIO(b"".join(pieces).decode("utf-8"), newline="")))
    assert lines[0] == ["A", "B", "C"] and len(lines) == 20_001
    assert lines[-1] == ["K0019999", 'Ä, "quoted"', "line\nbreak"]


def test_sorts_are_parsed_and_bad_ones_refused():
    assert sort_for("").param == "activated"
    assert sort_for("-version").param == "-version" and sort_for("-version").descending
    assert [sort_for(c.key).column for c in COLUMNS] == list(COLUMNS)
    for bad in ("nope", "--version", "activated;DROP", "-"):
        with pytest.raises(SortError, match="Sort by one of: product_key"):
            sort_for(bad)
