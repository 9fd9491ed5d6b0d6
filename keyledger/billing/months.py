"""Billing months: calendar months in the billing time zone (KEYLEDGER_BILLING_TIME_ZONE)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django.conf import settings

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def billing_zone() -> ZoneInfo:
    return ZoneInfo(settings.KEYLEDGER_BILLING_TIME_ZONE)


def local_midnight(day: date) -> datetime:
    """The instant (in UTC) a calendar day of the billing time zone begins."""
    return datetime(day.year, day.month, day.day, tzinfo=billing_zone()).astimezone(UTC)


def local_date(instant: datetime) -> date:
    """The calendar day of the billing time zone that `instant` falls on."""
    return instant.astimezone(billing_zone()).date()


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9998):
            raise ValueError(f"Not a month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """'2026-11' → Month(2026, 11); ValueError for anything else."""
        match = MONTH_RE.match((text or "").strip())
        if not match:
            raise ValueError("Enter a month as YYYY-MM, e.g. 2026-11.")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, value: date | datetime) -> Month:
        """The billing month of a day, or of an instant (read in the billing time zone)."""
        if isinstance(value, datetime):
            value = local_date(value)
        return cls(value.year, value.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return self.first_day.strftime("%B %Y")

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def last_day(self) -> date:
        return self.next.first_day - timedelta(days=1)

    @property
    def days(self) -> int:
        return self.last_day.day

    def day(self, number: int) -> date:
        return date(self.year, self.month, number)

    @cached_property
    def day_starts(self) -> tuple[datetime, ...]:
        """The instants (UTC) each day of the month begins, and the next month's first: days + 1
        instants. Day d is [day_starts[d-1], day_starts[d]); with daylight saving a day may be
        23 or 25 hours long."""
        first = self.first_day
        return tuple(local_midnight(first + timedelta(days=n)) for n in range(self.days + 1))

    @property
    def start(self) -> datetime:
        return self.day_starts[0]

    @property
    def end(self) -> datetime:
        return self.day_starts[-1]

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class DayRange:
    """`count` calendar days of the billing time zone from `first`: like a Month, for
    counting by day over any stretch (the home page's last 90 days)."""

    first: date
    count: int

    @cached_property
    def day_starts(self) -> tuple[datetime, ...]:
        return tuple(local_midnight(self.first + timedelta(days=n)) for n in range(self.count + 1))

    @property
    def start(self) -> datetime:
        return self.day_starts[0]

    @property
    def end(self) -> datetime:
        return self.day_starts[-1]

    @property
    def last_day(self) -> date:
        return self.first + timedelta(days=self.count - 1)

    def day(self, number: int) -> date:
        return self.first + timedelta(days=number - 1)


def months_between(first: Month, last: Month) -> list[Month]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month.next
    return months
