"""Text compared code point by code point, whatever the database's collation.

A prefix search is a range: `x >= prefix AND x < prefix + U+10FFFF`. That range holds only
under a bytewise order; under a language's collation (en_US on PostgreSQL, say) punctuation
and case are ignored at first and "srv-" would no longer bound the names that start with it.
SQLite compares text bytewise unless told otherwise; PostgreSQL is told with COLLATE "C".
The index and the query use the same expression (machine_name_order), so they always agree.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Func
from django.db.models.functions import Lower

# Greater than every other character, in UTF-8 bytes as in code points.
LAST_CHARACTER = "\U0010ffff"


class Bytewise(Func):
    template = '%(expressions)s COLLATE "C"'

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list]:
        # SQLite's default collation, BINARY, is already bytewise.
        return compiler.compile(self.get_source_expressions()[0])


def machine_name_order() -> Bytewise:
    """The expression the machine name index holds: case folded, bytewise."""
    return Bytewise(Lower("machine_name"))
