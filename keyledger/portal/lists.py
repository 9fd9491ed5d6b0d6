"""Lists people choose from: sorted by clicking a heading (kept in the URL), filtered by
name with a GET form (works without JavaScript), paginated with the total shown.

A view names its columns and hands over its queryset; `sorted_page` reads `sort`, `q` and
`page` from the URL and returns what the templates portal/lists/_heading.html,
_filter.html and _pagination.html need. The default order is natural name order: every
listed model keeps natural_sort_key(name) in its `sort_name` column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest


class NameFilterForm(forms.Form):
    # Through a form: a value it refuses (NUL, overlong) filters nothing rather than failing.
    q = forms.CharField(label="Filter by name", required=False, max_length=200)


@dataclass(frozen=True)
class Column:
    """A heading of a sortable list. `order_by` are the fields it sorts by, ascending; the
    row's id always breaks ties, so pages never overlap."""

    key: str
    label: str
    order_by: tuple[str, ...] = ()
    numeric: bool = False

    @property
    def sortable(self) -> bool:
        return bool(self.order_by)


@dataclass
class Heading:
    column: Column
    url: str = ""
    aria_sort: str = "none"  # ascending, descending or none, as aria-sort says it


@dataclass
class ListPage:
    page: Page
    headings: list[Heading]
    query: str
    noun: str  # plural, shown with the total: "87 MSPs"
    noun_one: str
    filtered: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.page.paginator.count

    @property
    def total_label(self) -> str:
        return f"{self.total} {self.noun_one if self.total == 1 else self.noun}"


def _url(request: HttpRequest, **changes: str | None) -> str:
    params = request.GET.copy()
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


def sorted_page(
    request: HttpRequest,
    rows: QuerySet,
    *,
    columns: list[Column],
    default: str,
    per_page: int,
    noun: str,
    noun_one: str,
    search_fields: tuple[str, ...] = ("name",),
) -> ListPage:
    """Filter `rows` by the name box, sort them by the heading in `?sort=` (`-key` for
    descending; `default` when absent or unknown) and cut the page in `?page=`."""
    search = NameFilterForm(request.GET)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    if query:
        match = Q()
        for name in search_fields:
            match |= Q(**{f"{name}__icontains": query})
        rows = rows.filter(match)
    by_key = {c.key: c for c in columns if c.sortable}
    wanted = request.GET.get("sort", "")
    descending = wanted.startswith("-")
    key = wanted.removeprefix("-")
    if key not in by_key:
        key, descending = default.removeprefix("-"), default.startswith("-")
    chosen = by_key[key]
    order = [F(f).desc(nulls_last=True) if descending else F(f).asc(nulls_last=True) for f in chosen.order_by]
    rows = rows.order_by(*order, "-pk" if descending else "pk")
    page = Paginator(rows, per_page).get_page(request.GET.get("page"))
    headings = []
    for column in columns:
        heading = Heading(column)
        if column.sortable:
            current = column.key == key
            # A click on the current heading turns the order round; on another, sorts by it ascending.
            heading.url = _url(
                request, sort=f"-{column.key}" if current and not descending else column.key, page=None
            )
            if current:
                heading.aria_sort = "descending" if descending else "ascending"
        headings.append(heading)
    return ListPage(
        page=page, headings=headings, query=query, noun=noun, noun_one=noun_one, filtered=bool(query)
    )
