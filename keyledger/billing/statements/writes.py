"""Writing drafts in bulk: every header in a few UPDATE … FROM (VALUES …) statements, and
lines rewritten only for the drafts whose lines changed (each line written costs the check
of migration 0002's trigger, so a month closed again with nothing new writes no line).

The caller holds the drafts locked; the UPDATE also names status = 'draft', so a final
statement is never written whatever happens.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from keyledger.billing.models import Statement
from keyledger.billing.sql import Sql, dt, fetch
from keyledger.billing.statements.lines import Content, LineDraft

BATCH = 500
LINE_COLUMNS = (
    "statement_id",
    "position",
    "kind",
    "product_id",
    "item",
    "description",
    "quantity",
    "unit_minor",
    "amount_minor",
    "currency",
    "corrects_id",
    "key_id",
)

Row = tuple[Any, ...]


def _line_row(line: LineDraft, position: int) -> Row:
    return (
        position,
        line.kind,
        line.product_id,
        line.item,
        line.description[:500],
        line.quantity,
        line.unit_minor,
        line.amount_minor,
        line.currency,
        line.corrects_id,
        line.key_id,
    )


def _existing_lines(ids: Sequence[int]) -> dict[int, list[Row]]:
    found: dict[int, list[Row]] = defaultdict(list)
    for i in range(0, len(ids), BATCH):
        chunk = list(ids[i : i + BATCH])
        marks = ", ".join(["%s"] * len(chunk))
        rows = fetch(
            Sql(
                f"SELECT {', '.join(LINE_COLUMNS)} FROM billing_statementline"
                f" WHERE statement_id IN ({marks}) ORDER BY statement_id, position",
                chunk,
            )
        )
        for row in rows:
            found[row[0]].append(tuple(row[1:]))
    return found


def _execute(text: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(text, params)


def _rows_source(rows: list[Row], types: Sequence[str]) -> tuple[str, list[Any]]:
    """A FROM item with the rows as columns column1, column2, …: one array parameter per
    column on PostgreSQL (a statement of any size is sent and planned once), VALUES on SQLite."""
    names = ", ".join(f"column{n}" for n in range(1, len(types) + 1))
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        return f"unnest({arrays}) AS v({names})", [list(column) for column in zip(*rows, strict=True)]
    marks = "(" + ", ".join(["%s"] * len(types)) + ")"
    return f"(VALUES {', '.join([marks] * len(rows))}) AS v", [value for row in rows for value in row]


def _batches(rows: list[Row]) -> list[list[Row]]:
    # PostgreSQL takes them all at once; SQLite's VALUES stays under its parameter limit.
    size = len(rows) if connection.vendor == "postgresql" else BATCH
    return [rows[i : i + size] for i in range(0, len(rows), max(size, 1))]


def _update_headers(rows: list[Row], *, now: datetime, watermark: int) -> None:
    for chunk in _batches(rows):
        source, params = _rows_source(chunk, ["bigint", "text", "jsonb", "integer", "integer", "integer"])
        _execute(
            f"""UPDATE billing_statement
                SET currency = v.column2, totals = v.column3, key_count = v.column4,
                    billable_count = v.column5, unpriced_count = v.column6,
                    computed_at = %s, event_watermark = %s
                FROM {source}
                WHERE billing_statement.id = v.column1 AND billing_statement.status = 'draft'""",
            [dt(now), watermark, *params],
        )


LINE_TYPES = [
    "bigint",
    "integer",
    "text",
    "bigint",
    "text",
    "text",
    "integer",
    "bigint",
    "bigint",
    "text",
    "bigint",
    "bigint",
]


def _insert_lines(rows: list[Row]) -> None:
    for chunk in _batches(rows):
        source, params = _rows_source(chunk, LINE_TYPES)
        _execute(
            f"INSERT INTO billing_statementline ({', '.join(LINE_COLUMNS)}) SELECT * FROM {source}", params
        )


def _delete_lines(ids: list[int]) -> None:
    for i in range(0, len(ids), BATCH):
        chunk = ids[i : i + BATCH]
        _execute(
            f"DELETE FROM billing_statementline WHERE statement_id IN ({', '.join(['%s'] * len(chunk))})",
            chunk,
        )


def write_drafts(
    drafts: list[Statement], contents: dict[int, Content], *, now: datetime, watermark: int
) -> None:
    """Write computed contents to drafts the caller holds locked: header fields, and the lines
    of those whose lines changed. A draft whose customer has nothing this month keeps its row,
    empty."""
    empty = Content()
    ids = [d.pk for d in drafts]
    before = _existing_lines(ids)
    headers: list[Row] = []
    changed: list[int] = []
    inserts: list[Row] = []
    for draft in drafts:
        content = contents.get(draft.customer_id, empty)
        totals = content.totals
        headers.append(
            (
                draft.pk,
                content.currency,
                json.dumps(totals),
                content.key_count,
                content.billable_count,
                content.unpriced_count,
            )
        )
        draft.currency, draft.totals = content.currency, totals
        draft.key_count, draft.billable_count = content.key_count, content.billable_count
        draft.unpriced_count, draft.computed_at, draft.event_watermark = (
            content.unpriced_count,
            now,
            watermark,
        )
        lines = [_line_row(line, n) for n, line in enumerate(content.lines, start=1)]
        if lines != before.get(draft.pk, []):
            changed.append(draft.pk)
            inserts += [(draft.pk, *line) for line in lines]
    _delete_lines([pk for pk in changed if pk in before])
    _update_headers(headers, now=now, watermark=watermark)
    _insert_lines(inserts)
