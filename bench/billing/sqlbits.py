"""The few SQL pieces the billing bench writes differently on SQLite and PostgreSQL, and an
INSERT … SELECT builder that fills every column a model has.

Rows are written straight from SQL, so the ORM's Python-side defaults do not apply: the
builder renders each column's default as a literal (and refuses a NOT NULL column with no
default and no expression), so a column added to a model later cannot silently break the
dataset.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction

# Multiplicative hashing (Knuth): h(n) = bits 16..31 of n*K mod 2^32, a fixed pseudo-random
# number 0..65535 per row and per constant K; products of n < 10^9 with K < 2^32 fit in 64 bits.
HASH_CONSTANTS = (2654435761, 2246822519, 3266489917, 668265263, 374761393, 1181783497, 2028178513)


def postgres() -> bool:
    return connection.vendor == "postgresql"


def numbers(count: int) -> str:
    """A derived table of one column `n`, the whole numbers 0 … count-1."""
    if postgres():
        return f"(SELECT generate_series(0, {int(count) - 1})::bigint AS n)"
    return (
        f"(WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < {int(count) - 1})"
        " SELECT n FROM c)"
    )


def hashed(column: str, which: int) -> str:
    constant = HASH_CONSTANTS[which]
    return f"((({column}) * {constant}) % 4294967296 / 65536)"


def at(epoch: str) -> str:
    """The timestamp of an SQL expression of whole seconds since 1970 (UTC), as Django
    stores a datetime column: timestamptz on PostgreSQL, 'YYYY-MM-DD HH:MM:SS' on SQLite."""
    if postgres():
        return f"to_timestamp({epoch})"
    return f"datetime({epoch}, 'unixepoch')"


def epoch(instant: datetime) -> int:
    return int(instant.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def json_text(value: Any) -> str:
    literal = text(json.dumps(value, separators=(",", ":")))
    return f"{literal}::jsonb" if postgres() else literal


def literal(field: models.Field, value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(field, models.JSONField):
        return json_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return at(str(epoch(value)))
    if isinstance(value, str):
        return text(value)
    raise TypeError(f"No SQL literal for {field.name}={value!r}")


def insert(model: type[models.Model], values: dict[str, str], source: str) -> int:
    """INSERT INTO the model's table, one row per row of `source` (FROM …, WHERE …): `values`
    maps field names (or their columns) to SQL expressions; every other column gets its
    default. Returns the number of rows written."""
    columns, expressions = [], []
    given = dict(values)
    for field in model._meta.concrete_fields:
        expression = given.pop(field.name, None) or given.pop(field.column, None)
        if expression is None and field.primary_key:
            continue  # the database numbers the row
        if expression is None:
            default = field.get_default()
            if default is None and not field.null:
                raise ValueError(f"{model.__name__}.{field.name} needs a value")
            expression = literal(field, default)
        columns.append(connection.ops.quote_name(field.column))
        expressions.append(expression)
    if given:
        raise ValueError(f"{model.__name__} has no fields {sorted(given)}")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(expressions)} {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def next_id(model: type[models.Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")
        return int(cursor.fetchone()[0])


def reset_sequences(*models_: type[models.Model]) -> None:
    """Rows were written with explicit ids: PostgreSQL's sequences must move past them."""
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), list(models_)):
            cursor.execute(statement)


def execute(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def scalar(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or None)
        return cursor.fetchone()[0]


def analyze() -> None:
    """Fresh statistics (and, on PostgreSQL, hint bits and the visibility map) so that the
    first measured query does not pay for the load."""
    vacuum = postgres() and not connection.in_atomic_block  # VACUUM runs outside a transaction
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")


def secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes that back no constraint: the ones a
    bulk load can drop and build again, faster than filling them row by row."""
    if postgres():
        return execute(
            """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN (
                   SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)""",
            [table, table],
        )
    return execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
        [table],
    )


@contextmanager
def loading(*tables: str) -> Iterator[Callable[[], None]]:
    """Settings for writing the dataset, undone afterwards (the measures run with the
    portal's own): the tables' secondary indexes are dropped, to be built again by calling
    what this yields; on PostgreSQL the foreign-key triggers are off (bench.billing.invariants
    checks that every row has its parents), on SQLite the page cache is bigger than 2 MB."""
    indexes = [index for table in tables for index in secondary_indexes(table)]
    for name, _ in indexes:
        execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    if postgres():
        undo = "RESET session_replication_role"
        try:
            with transaction.atomic():
                execute("SET session_replication_role = replica")
        except DatabaseError:
            # Only a superuser may: then the triggers check every row as it is written (slower).
            undo = "SELECT 1"
    else:
        undo = f"PRAGMA cache_size = {int(scalar('PRAGMA cache_size'))}"
        execute("PRAGMA cache_size = -1048576")

    def rebuild() -> None:
        while indexes:
            execute(indexes.pop(0)[1])

    try:
        yield rebuild
        rebuild()
    finally:
        execute(undo)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as took:` … `took[0]` is the seconds the block ran."""
    took: list[float] = []
    started = time.perf_counter()
    try:
        yield took
    finally:
        took.append(time.perf_counter() - started)
