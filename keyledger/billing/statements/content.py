"""A statement's canonical content, its SHA-256, and its CSV file.

The canonical form is one JSON object, UTF-8, keys sorted, no whitespace
(`json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)`):

    {"items": [<one object per key, by key id>],
     "lines": [<one object per line, by position>],
     "statement": {<the header>}}

- header: issuer_id, customer_id, month ("2026-11"), number, status, currency, totals
  ({"EUR": "1234.50"}), key_count, billable_count, unpriced_count, finalised_at;
- line: position, kind, product_id, item, description, quantity, unit, amount, currency,
  corrects (the corrected statement's number), key (the Product Key);
- item: key_id, key, msp_id, msp, product_id, product, edition, account_id, account,
  site_id, site, machine_name, activated_at, deactivated_at, active_days, billable, unit,
  amount, currency.

Amounts are strings with the currency's digits ("25.00", "1500" for JPY), null when there
is none; times are UTC with microseconds ("2026-12-04T10:00:00.000000Z"), null when none.
Every value comes from the statement's own rows (names as they were when it became final),
so the hash can be recomputed at any time (`verify`). It is written piece by piece, so a
statement of a million keys is hashed in flat memory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from keyledger.billing import money
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.sql import Sql, as_datetime, fetch_dicts, stream

CSV_HEADER = [
    "Statement",
    "Month",
    "Status",
    "Line",
    "Kind",
    "Description",
    "Quantity",
    "Unit Price",
    "Amount",
    "Currency",
    "Corrects",
    "Product Key",
]

ITEM_COLUMNS = [
    "key_id",
    "key",
    "msp_id",
    "msp",
    "product_id",
    "product",
    "edition",
    "account_id",
    "account",
    "site_id",
    "site",
    "machine_name",
    "activated_at",
    "deactivated_at",
    "active_days",
    "billable",
    "unit",
    "amount",
    "currency",
]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _time(value: Any) -> str | None:
    moment = as_datetime(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment is not None else None


def _money(minor: int | None, currency: str) -> str | None:
    return money.format_plain(minor, currency) or None


def header(statement: Statement) -> dict[str, Any]:
    return {
        "issuer_id": statement.issuer_id,
        "customer_id": statement.customer_id,
        "month": str(Month.of(statement.month)),
        "number": statement.number,
        "status": statement.status,
        "currency": statement.currency,
        "totals": {c: money.format_plain(int(v), c) for c, v in sorted(statement.totals.items())},
        "key_count": statement.key_count,
        "billable_count": statement.billable_count,
        "unpriced_count": statement.unpriced_count,
        "finalised_at": _time(statement.finalised_at),
    }


def line_rows(statement_id: int) -> list[dict[str, Any]]:
    """The statement's lines in order, with the number each correction names and its key."""
    return fetch_dicts(
        Sql(
            """SELECT l.position, l.kind, l.product_id, l.item, l.description, l.quantity, l.unit_minor,
                      l.amount_minor, l.currency, c.number AS corrects, k.key AS product_key
               FROM billing_statementline l
               LEFT JOIN billing_statement c ON c.id = l.corrects_id
               LEFT JOIN keys_productkey k ON k.id = l.key_id
               WHERE l.statement_id = %s ORDER BY l.position""",
            [statement_id],
        )
    )


def _line(row: dict[str, Any]) -> dict[str, Any]:
    currency = row["currency"] or ""
    return {
        "position": row["position"],
        "kind": row["kind"],
        "product_id": row["product_id"],
        "item": row["item"],
        "description": row["description"],
        "quantity": row["quantity"],
        "unit": _money(row["unit_minor"], currency),
        "amount": _money(row["amount_minor"], currency),
        "currency": currency,
        "corrects": row["corrects"],
        "key": row["product_key"],
    }


ITEMS_SQL = """
    SELECT si.key_id, k.key, si.msp_id, si.msp_name, si.product_id, si.product_name, si.edition,
           si.account_id, si.account_name, si.site_id, si.site_name, si.machine_name,
           si.activated_at, si.deactivated_at, si.active_days, si.billable, si.unit_minor,
           si.amount_minor, si.currency
    FROM billing_statementitem si JOIN keys_productkey k ON k.id = si.key_id
    WHERE si.statement_id = %s ORDER BY si.key_id
"""


def _item(row: tuple) -> dict[str, Any]:
    values = dict(zip(ITEM_COLUMNS, row, strict=True))
    currency = values["currency"] or ""
    values["billable"] = bool(values["billable"])
    values["activated_at"] = _time(values["activated_at"])
    values["deactivated_at"] = _time(values["deactivated_at"])
    values["unit"] = _money(values["unit"], currency)
    values["amount"] = _money(values["amount"], currency)
    values["currency"] = currency
    return values


def canonical_chunks(statement: Statement) -> Iterator[str]:
    """The canonical form, piece by piece: joined, it is the whole document."""
    yield '{"items":['
    for n, row in enumerate(stream(Sql(ITEMS_SQL, [statement.pk]))):
        yield ("," if n else "") + _json(_item(row))
    yield '],"lines":['
    yield ",".join(_json(_line(row)) for row in line_rows(statement.pk))
    yield '],"statement":' + _json(header(statement)) + "}"


def canonical(statement: Statement) -> str:
    return "".join(canonical_chunks(statement))


def content_sha256(statement: Statement) -> str:
    digest = hashlib.sha256()
    for piece in canonical_chunks(statement):
        digest.update(piece.encode())
    return digest.hexdigest()


def verify(statement: Statement) -> bool:
    """The SHA-256 recomputed from the statement's rows equals the one stored when it became final."""
    return bool(statement.content_sha256) and content_sha256(statement) == statement.content_sha256


def statement_csv(statement: Statement) -> Iterator[str]:
    """The statement as CSV lines (UTF-8 text, CRLF, header row first): one row per line, then
    one Total row per currency. A final statement's file never changes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def row(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield row(CSV_HEADER)
    name = statement.number or "Draft"
    month = str(Month.of(statement.month))
    status = statement.get_status_display()
    for line in line_rows(statement.pk):
        currency = line["currency"] or ""
        yield row(
            [
                name,
                month,
                status,
                line["position"],
                "Correction" if line["kind"] == "correction" else "Charge",
                line["description"],
                line["quantity"],
                money.format_plain(line["unit_minor"], currency),
                money.format_plain(line["amount_minor"], currency),
                currency,
                line["corrects"] or "",
                line["product_key"] or "",
            ]
        )
    for currency, minor in sorted(statement.totals.items()):
        yield row(
            [
                name,
                month,
                status,
                "",
                "Total",
                f"Total {currency}",
                "",
                "",
                money.format_plain(int(minor), currency),
                currency,
                "",
                "",
            ]
        )


def csv_filename(statement: Statement) -> str:
    if statement.number:
        return f"statement-{statement.number}.csv"
    return f"statement-draft-{Month.of(statement.month)}-{statement.customer_id}.csv"
