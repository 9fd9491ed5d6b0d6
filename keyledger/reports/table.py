"""What the reports share: one SQL statement per report whose rows are the report's rows,
counted, paged and sorted in the database, and written out cell by cell the same way on
screen, in the API and in the CSV file.

A report subclass gives `rows_sql()`: a SELECT whose columns are named by the report's
Column.key values (plus what the page needs, such as key_id), wrapped here as the derived
table `r`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from keyledger.billing import money
from keyledger.billing.sql import Sql, as_datetime, fetch, fetch_dicts, iso_text, stream
from keyledger.reports import csv
from keyledger.reports.labels import short_product_name
from keyledger.reports.sorting import CODE, DATE, MONEY, NUMBER, TEXT, TIME, YES_NO, Column, Sort


def plain(column: Column, value: Any, currency: Any = None) -> str:
    """A cell as the CSV file (and the API's CSV) writes it."""
    if value is None:
        return ""
    if column.kind == TIME:
        return csv.iso_time(value)
    if column.kind == DATE:
        return value.isoformat() if isinstance(value, date) else str(value)
    if column.kind == NUMBER:
        return str(int(value))
    if column.kind == YES_NO:
        return "Yes" if int(value) else "No"
    if column.kind == MONEY:
        return money.format_plain(int(value), currency or "")
    return str(value)


@dataclass
class Cell:
    """A cell as a page shows it, worked out here rather than in the template (a page of
    50 rows has 700 of them)."""

    column: Column
    value: Any  # a datetime for a time, text otherwise
    text: str  # "" shows as a dash
    title: str = ""  # the whole text, where the page shows it shortened
    iso: str = ""  # a time's machine-readable form, for <time datetime>
    numeric: bool = False
    href: str = ""  # a Product Key links to its key's Activation Details, for those who may open them

    @property
    def html(self) -> SafeString:
        """The <td>: built here, where it costs a format per cell rather than a dozen
        template lookups."""
        opening = mark_safe('<td class="num">') if self.numeric else mark_safe("<td>")
        if self.iso:
            inner = format_html('<time datetime="{}" title="{}">{}</time>', self.iso, self.title, self.text)
        elif self.column.key == "product_key":
            if self.href:
                inner = format_html('<a class="product-key" href="{}">{}</a>', self.href, self.text)
            else:
                inner = format_html('<span class="product-key">{}</span>', self.text)
        elif self.title:
            inner = format_html('<span title="{}">{}</span>', self.title, self.text)
        else:
            inner = escape(self.text or "—")
        return format_html("{}{}</td>", opening, inner)


class Table:
    """A report as rows in the database. Subclasses set `columns`, `default_sort`, and
    `tiebreak` (unique), and implement rows_sql()."""

    columns: tuple[Column, ...] = ()
    # The columns shown on a page (the file has them all); None: the same.
    screen_columns: tuple[Column, ...] | None = None
    default_sort: str = ""
    tiebreak: tuple[str, ...] = ()
    # Columns that order the rows before the chosen sort (the Billing Detail Report's products).
    group_by: tuple[str, ...] = ()
    currency_key = "currency"

    def __init__(self, *, sort: Sort) -> None:
        self.sort = sort

    def rows_sql(self) -> Sql:
        raise NotImplementedError

    @property
    def header(self) -> list[str]:
        return [c.heading for c in self.columns]

    def ordered(self) -> Sql:
        rows = self.rows_sql()
        order = self.sort.order_by(self.tiebreak, first=self.group_by)
        return Sql(f"SELECT r.* FROM ({rows.text}) r {order}", list(rows.params))

    def count(self) -> int:
        rows = self.rows_sql()
        return int(fetch(Sql(f"SELECT COUNT(*) FROM ({rows.text}) r", rows.params))[0][0])

    def page_and_count(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """A page and the number of rows in the whole report: two queries. (A count riding
        along as a window over the sorted rows would drag every row of a large report
        through the joins and the sort before the LIMIT: 7 s instead of 1 s for 890,000.)"""
        return self.fetch_page(offset, limit), self.count()

    def fetch_page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        sql = self.ordered()
        sql.text += " LIMIT %s OFFSET %s"
        sql.params += [int(limit), int(offset)]
        return [self.shown(row) for row in fetch_dicts(sql)]

    def shown(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row for the page: times as datetimes, and each column's cell."""
        for column in self.columns:
            if column.kind == TIME:
                row[column.key] = as_datetime(row[column.key])
        row["cells"] = [self.cell(column, row) for column in self.on_screen]
        return row

    @property
    def on_screen(self) -> tuple[Column, ...]:
        return self.screen_columns if self.screen_columns is not None else self.columns

    def cell(self, column: Column, row: dict[str, Any]) -> Cell:
        value = row[column.key]
        if column.kind == MONEY:
            currency = row.get(self.currency_key) or ""
            text = "" if value is None or not currency else f"{money.to_decimal(int(value), currency):,}"
            return Cell(column, value, text, numeric=True)
        if column.kind == TIME:
            if value is None:
                return Cell(column, value, "")
            # On the page in the reader's time zone, UTC in the tooltip; the CSV file stays UTC.
            moment = value.astimezone(UTC)
            local = timezone.localtime(value)
            return Cell(
                column,
                value,
                f"{local:%Y-%m-%d %H:%M} {local.tzname()}",
                title=f"{moment:%Y-%m-%d %H:%M} UTC",
                iso=f"{moment:%Y-%m-%dT%H:%M:%SZ}",
            )
        if column.kind == NUMBER:
            return Cell(column, value, plain(column, value), numeric=True)
        if column.key == "product" and value:
            return Cell(column, value, short_product_name(value), title=value)
        return Cell(column, value, plain(column, value))

    def csv_converter(self, column: Column) -> Callable[[Any], str] | None:
        """How the CSV file writes a column's values; None: as they come (text, and an empty
        value as nothing, which is how the csv module writes None)."""
        if column.kind in (TEXT, CODE):
            return None
        if column.kind == TIME:
            return None  # written by the database (csv_rows)
        if column.kind == MONEY:
            return None  # written with the row's currency, below
        return lambda value: plain(column, value)

    def csv_rows(self) -> Iterator[Sequence[Any]]:
        """Every row, sorted as on screen, as the CSV writes it; streamed from the database.
        A million rows pass through here: what each column needs is worked out once."""
        rows = self.rows_sql()
        keys = [c.key for c in self.columns]
        order = self.sort.order_by(self.tiebreak, first=self.group_by)
        selected = [iso_text(f"r.{c.key}") if c.kind == TIME else f"r.{c.key}" for c in self.columns]
        sql = Sql(f"SELECT {', '.join(selected)} FROM ({rows.text}) r {order}", rows.params)
        converters = [(i, f) for i, c in enumerate(self.columns) if (f := self.csv_converter(c)) is not None]
        amounts = [i for i, c in enumerate(self.columns) if c.kind == MONEY]
        currency_at = keys.index(self.currency_key) if amounts and self.currency_key in keys else None
        if not converters and not amounts:
            # Every value as the database wrote it (the Activation Report): no Python per row.
            yield from stream(sql)
            return
        for raw in stream(sql):
            line = list(raw)
            for i, convert in converters:
                line[i] = convert(line[i])
            if amounts:
                currency = (raw[currency_at] if currency_at is not None else "") or ""
                for i in amounts:
                    line[i] = money.format_plain(raw[i], currency) if raw[i] is not None else ""
            yield line

    def api_item(self, row: dict[str, Any]) -> dict[str, Any]:
        """A page row for the API: each column by its key, amounts as text ("12.50")."""
        item: dict[str, Any] = {}
        for column in self.columns:
            value = row[column.key]
            if column.kind == MONEY:
                item[column.key] = plain(column, value, row.get(self.currency_key)) or None
            elif column.kind == YES_NO:
                item[column.key] = bool(int(value)) if value is not None else None
            elif column.kind == NUMBER:
                item[column.key] = int(value) if value is not None else None
            elif column.kind == TIME:
                item[column.key] = (
                    value if isinstance(value, datetime) or value is None else as_datetime(value)
                )
            else:
                item[column.key] = value if value is not None else ("" if column.kind != DATE else None)
        return item


class LazyRows:
    """A report's rows for Django's Paginator: counted once, and only the page fetched."""

    def __init__(
        self,
        table: Table,
        *,
        count: int | None = None,
        preloaded: tuple[int, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.table = table
        self._count = count
        # (offset, rows) of a page already fetched with the count (BillingDetailReport.page_and_totals).
        self._preloaded = preloaded

    def count(self) -> int:
        if self._count is None:
            self._count = self.table.count()
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        start = item.start or 0
        stop = item.stop if item.stop is not None else self.count()
        if stop <= start:
            return []
        if self._preloaded is not None and self._preloaded[0] == start:
            return self._preloaded[1][: stop - start]
        return self.table.fetch_page(start, stop - start)
