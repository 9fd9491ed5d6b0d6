"""The time zones a user may choose: the IANA names Python's zoneinfo knows."""

from functools import cache
from zoneinfo import available_timezones


@cache
def time_zone_names() -> tuple[str, ...]:
    # Read once per process: listing the zone files walks the tz database on disk.
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


@cache
def _names() -> frozenset[str]:
    return frozenset(time_zone_names())


def is_time_zone(name: str) -> bool:
    return name in _names()
