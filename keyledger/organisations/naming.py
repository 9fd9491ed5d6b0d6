"""The natural sort key that lists of names are ordered by.

People expect "MSP 2" before "MSP 10" and "alpha" next to "Alpha". Databases compare
text character by character, so each named row keeps its key in a `sort_name` column,
written by the actions that create or rename it, and lists order by that column with an
index instead of sorting in Python.
"""

from __future__ import annotations

import re

# Digit runs are padded to this width: numbers up to 12 digits compare by value.
NUMBER_WIDTH = 12
SORT_NAME_MAX_LENGTH = 255

_DIGITS = re.compile(r"[0-9]+")


def _pad(match: re.Match[str]) -> str:
    # Leading zeros carry no value ("007" sorts with "7"); an all-zero run is the number 0.
    digits = match.group().lstrip("0") or "0"
    return digits.rjust(NUMBER_WIDTH, "0")


def natural_sort_key(name: str) -> str:
    """The key to order `name` by: casefolded, every run of ASCII digits zero-padded to
    NUMBER_WIDTH. Cut to the column's length: names that differ only past it sort
    together (the lists then order them by id)."""
    return _DIGITS.sub(_pad, " ".join((name or "").split()).casefold())[:SORT_NAME_MAX_LENGTH]
