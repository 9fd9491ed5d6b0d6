"""Reading a report's options as people and programs type them, with the same words for
the same mistakes in the portal, the API and `keyledger report`: each refusal is a
ValidationError naming its field."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from django.core.exceptions import ValidationError

from keyledger.billing.months import Month
from keyledger.keys.models import Product

# A date outside these years is a typing error (and beyond 9998 a month has no end).
FIRST_YEAR, LAST_YEAR = 1970, 9998
DATE_RANGE = f"Enter a date between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31."
AFTER_START = "The End Date cannot be before the Start Date."
OVER_A_YEAR = (
    "On screen a report spans a year at most: choose an earlier End Date, "
    "or download the longer report as a CSV file."
)


def check_year(value: date, field: str) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError({field: DATE_RANGE})
    return value


def one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return date(day.year + 1, 3, 1)


def check_days(start: date, end: date, *, at_most_a_year: bool) -> None:
    """Start Date and End Date (inclusive) of an Activation Report."""
    check_year(start, "start")
    check_year(end, "end")
    if start > end:
        raise ValidationError({"end": AFTER_START})
    if at_most_a_year and end > one_year_after(start):
        raise ValidationError({"end": OVER_A_YEAR})


def parse_date(text: str, field: str) -> date:
    try:
        return check_year(date.fromisoformat((text or "").strip()), field)
    except ValueError:
        raise ValidationError({field: "Enter a date as YYYY-MM-DD, e.g. 2026-11-30."}) from None


def parse_month(text: str, *, running: Month, field: str = "month") -> Month:
    """A month of the Billing Detail Report: YYYY-MM, up to the running month."""
    try:
        month = Month.parse(text)
    except ValueError:
        raise ValidationError({field: "Enter a month as YYYY-MM, e.g. 2026-11."}) from None
    if month > running:
        raise ValidationError({field: f"{month.label} has not begun yet: choose {running} or earlier."})
    if month.year < FIRST_YEAR:
        raise ValidationError({field: f"Choose a month from {FIRST_YEAR} on."})
    return month


def product_ids(
    codes: Iterable[str], catalog: Sequence[Product], *, field: str = "product"
) -> tuple[int, ...]:
    """The ids of the products named by their codes; none named: all (an empty tuple)."""
    by_code = {p.code: p.pk for p in catalog}
    wanted = [c.strip() for c in codes if c and c.strip()]
    unknown = [c for c in wanted if c not in by_code]
    if unknown:
        known = ", ".join(by_code)
        raise ValidationError({field: f"No product {unknown[0]!r}: choose among {known}."})
    return tuple(sorted({by_code[c] for c in wanted}))
