"""The columns of a report and sorting by any of them, in the database.

A sort is `?sort=activated` (ascending) or `?sort=-activated` (descending). Rows that tie
on the column keep one fixed order (a unique tiebreak, ascending either way), so every
page of a sorted report is stable however many rows share a value. Empty values come
last when ascending and first when descending, on SQLite and PostgreSQL alike; text sorts
ignoring case, by code point on both (PostgreSQL is told to compare bytes, as SQLite does,
whatever the database's locale; cheaper too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keyledger.billing.sql import vendor

# What a column holds, for sorting and for writing it out (keyledger.reports.csv).
TEXT = "text"
CODE = "code"  # text in one case already (a product key): sorted as it is
TIME = "time"
DATE = "date"
NUMBER = "number"
YES_NO = "yes_no"
MONEY = "money"


@dataclass(frozen=True)
class Column:
    key: str  # in the URL and the API: "product_key"
    heading: str  # on screen and in the CSV header: "Product Key"
    expression: str  # SQL over the report's row, e.g. "r.product_key"
    kind: str = TEXT

    @property
    def sort_expression(self) -> str:
        return _bytewise(f"LOWER({self.expression})" if self.kind == TEXT else self.expression, self.kind)


@dataclass(frozen=True)
class Sort:
    column: Column
    descending: bool = False

    @property
    def param(self) -> str:
        return f"-{self.column.key}" if self.descending else self.column.key

    def toggled_for(self, column: Column) -> str:
        """The sort a click on `column`'s heading asks for: the other way round on the
        current column, ascending on another."""
        if column.key == self.column.key and not self.descending:
            return f"-{column.key}"
        return column.key

    def aria(self, column: Column) -> str:
        if column.key != self.column.key:
            return "none"
        return "descending" if self.descending else "ascending"

    def order_by(self, tiebreak: Sequence[str], *, first: Sequence[str] = ()) -> str:
        """ORDER BY text: `first` (grouping, e.g. by product), the column, then `tiebreak`."""
        expression = self.column.sort_expression
        direction = "DESC" if self.descending else "ASC"
        empty = f"CASE WHEN {self.column.expression} IS NULL THEN 1 ELSE 0 END"
        terms = [*first, f"{empty} {direction}", f"{expression} {direction}"]
        if self.column.kind == TEXT:
            terms.append(f"{_bytewise(self.column.expression, TEXT)} {direction}")
        terms += [f"{t} ASC" for t in tiebreak]
        return "ORDER BY " + ", ".join(terms)


def _bytewise(expression: str, kind: str) -> str:
    if kind in (TEXT, CODE) and vendor() == "postgresql":
        return f'{expression} COLLATE "C"'
    return expression


class SortError(ValueError):
    pass


def parse_sort(value: str | None, columns: Sequence[Column], default: str) -> Sort:
    """The sort named by `value` ("-activated"); the default when empty. SortError names
    the columns for anything else."""
    text = (value or "").strip() or default
    descending = text.startswith("-")
    key = text.removeprefix("-")
    for column in columns:
        if column.key == key:
            return Sort(column=column, descending=descending)
    names = ", ".join(c.key for c in columns)
    raise SortError(f"Sort by one of: {names} (a leading - sorts descending).")
