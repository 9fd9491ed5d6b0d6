"""The key list of an account or site, as queries: its status filter (keyledger.keys.statuses),
its sort orders, the counts of its filter and of its product tabs, and its rows as CSV.

Every function takes a queryset the caller already scoped through keyledger.access and
adds to it; none reaches tenant data on its own. Counts are one grouped query each, so a
list costs the same number of queries whatever the number of keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, F, IntegerField, OrderBy, QuerySet, Value, When
from django.db.models.functions import Lower

from keyledger.keys import statuses
from keyledger.keys.models import Product, ProductKey
from keyledger.reports.csv import iso_time

State = ProductKey.State
DEFAULT_SORT = "key"

# Status shown first when sorting by Status: trouble at the top.
_SEVERITY = (
    State.CRITICAL,
    State.DEACTIVATION_REQUESTED,
    State.REACTIVATION_REQUESTED,
    State.OK,
    State.UNUSED,
    State.DEACTIVATED,
)


@dataclass(frozen=True)
class SortColumn:
    key: str  # in the URL: ?sort=machine, ?sort=-machine
    heading: str
    site_list: bool = True  # shown on a site's list (Site is not: it repeats the page's site)


SORT_COLUMNS: dict[str, SortColumn] = {
    c.key: c
    for c in (
        SortColumn("key", "Product Key"),
        SortColumn("status", "Status"),
        SortColumn("site", "Site", site_list=False),
        SortColumn("machine", "Machine"),
        SortColumn("last_call_home", "Last Call Home"),
    )
}


@dataclass(frozen=True)
class Sort:
    column: str
    descending: bool = False

    @classmethod
    def parse(cls, value: str | None, *, site_list: bool) -> Sort:
        """`?sort=` as asked; anything unknown (or Site on a site's list) is the default."""
        value = (value or "").strip()
        name = value.removeprefix("-")
        column = SORT_COLUMNS.get(name)
        if column is None or (site_list and not column.site_list):
            return cls(DEFAULT_SORT)
        return cls(name, descending=value.startswith("-"))

    @property
    def param(self) -> str:
        return f"-{self.column}" if self.descending else self.column

    def toggled_for(self, column: str) -> str:
        """What a click on the heading asks for: the other way round on the current column."""
        return f"-{column}" if column == self.column and not self.descending else column

    def aria(self, column: str) -> str:
        if column != self.column:
            return "none"
        return "descending" if self.descending else "ascending"


def parse_status(value: str | None) -> str:
    """`?status=` as asked, or "" (All) for anything that is not one of statuses.FILTERS."""
    value = (value or "").strip()
    return value if value in statuses.FILTERS else ""


def _severity(now: datetime) -> Case:
    return Case(
        *[When(statuses.shown_in_state(s, now), then=Value(rank)) for rank, s in enumerate(_SEVERITY)],
        default=Value(len(_SEVERITY)),
        output_field=IntegerField(),
    )


def _order(expression, descending: bool) -> OrderBy:
    # Empty values (never called home, no site) last either way: they are rarely what the
    # sort is for.
    return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)


def listed(keys: QuerySet[ProductKey], *, status: str, sort: Sort, now: datetime) -> QuerySet[ProductKey]:
    """The keys under the status filter, in the sort's order; ties in Product Key order (keys
    are unique, so every page is stable)."""
    if status:
        keys = keys.filter(statuses.in_filter(status, now))
    expression = {
        "key": F("key"),  # one fixed upper-case format: the natural order is case-free already
        "status": _severity(now),
        "site": Lower("site__name"),
        "machine": Lower("machine_name"),
        "last_call_home": F("last_call_home_at"),
    }[sort.column]
    order = [_order(expression, sort.descending)]
    if sort.column != "key":
        order.append(F("key").asc())
    return keys.order_by(*order)


def filter_counts(keys: QuerySet[ProductKey], *, now: datetime) -> dict[str, int]:
    """How many keys each status filter shows ("" for All), in one query."""
    counts = keys.order_by().aggregate(
        all=Count("id"),
        **{name: Count("id", filter=statuses.in_filter(name, now)) for name in statuses.FILTERS},
    )
    return {"": counts.pop("all"), **counts}


@dataclass(frozen=True)
class TabCount:
    keys: int = 0
    critical: int = 0


def tab_counts(keys: QuerySet[ProductKey], *, now: datetime) -> dict[int, TabCount]:
    """Keys and Critical keys per product id, in one grouped query for all the tabs."""
    rows = (
        keys.order_by().values("product").annotate(total=Count("id"), critical=statuses.critical_count(now))
    )
    return {row["product"]: TabCount(keys=row["total"], critical=row["critical"]) for row in rows}


CSV_HEADER = (
    "Product Key",
    "Product",
    "Status",
    "Account",
    "Site",
    "Machine Name",
    "Edition",
    "Activated",
    "Last Call Home",
)


def csv_rows(keys: QuerySet[ProductKey], *, product: Product, now: datetime) -> Iterator[list[str]]:
    """The CSV rows of a listed queryset, read from the database a chunk at a time."""
    rows = keys.select_related("account", "site").only(
        "key",
        "state",
        "critical_due_at",
        "machine_name",
        "edition",
        "activated_at",
        "last_call_home_at",
        "account__name",
        "site__name",
    )
    for key in rows.iterator(chunk_size=500):
        yield [
            key.key,
            product.name,
            key.status_label_at(now),
            key.account.name,
            key.site.name if key.site is not None else "",
            key.machine_name or "",
            product.edition_label(key.edition) if key.edition else "",
            iso_time(key.activated_at),
            iso_time(key.last_call_home_at),
        ]
