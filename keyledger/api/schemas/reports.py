import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints

from keyledger.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from keyledger.api.schemas.common import Id, Offset, Stated
from keyledger.api.schemas.price_lists import MONTH_PATTERN
from keyledger.reports import activation, billing_detail, soon
from keyledger.reports.sorting import Column

FORMAT = Field(None, description="csv: the report's CSV file, every row (as with `Accept: text/csv`)")
SORT_HELP = "A column's name, e.g. `activated`; a leading `-` sorts descending. Ties keep one fixed order."


def _sort(columns: tuple[Column, ...]) -> Any:
    """The sort parameter of a report: its columns, stated in the document as the names
    keyledger.reports.sorting.parse_sort accepts (it refuses others naming the columns)."""
    names = "|".join(re.escape(c.key) for c in columns)
    return Annotated[str, StringConstraints(max_length=40), Stated(str, pattern=f"^(-?({names}))?$")]


# The years keyledger.reports.inputs takes (FIRST_YEAR to LAST_YEAR), as the document's pattern
# of a date; tests/api/test_openapi.py holds the two to each other.
YEARS = "(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
DATE_PATTERN = f"^{YEARS}-[0-9]{{2}}-[0-9]{{2}}$"
ReportDate = Annotated[date, Stated(lambda d: d, pattern=DATE_PATTERN)]

ActivationSort = _sort(activation.COLUMNS)
BillingSort = _sort(billing_detail.COLUMNS)
ForecastSort = _sort(soon.COLUMNS)


class ReportQuery(Schema):
    msp_id: Id | None = Field(None, description="One MSP of the token's subtree; none: all of them")
    sort: str | None = Field(None, max_length=40, description=SORT_HELP)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: Offset = 0
    format: Literal["json", "csv"] | None = FORMAT


class ActivationQuery(ReportQuery):
    sort: ActivationSort | None = Field(None, description=SORT_HELP)
    start: ReportDate | None = Field(
        None,
        description="Start Date (a day of the billing time zone); default: the running month's first day",
    )
    end: ReportDate | None = Field(None, description="End Date, included; default: today")
    product: list[str] = Field(
        default_factory=list,
        description="Product codes to include (repeat the parameter); none: all products",
    )


class BillingQuery(ReportQuery):
    sort: BillingSort | None = Field(None, description=SORT_HELP)
    month: Annotated[str, StringConstraints(max_length=32), Stated(str, pattern=MONTH_PATTERN)] | None = (
        Field(None, description="YYYY-MM, up to the running month; default: the running month")
    )
    prices: Literal["msp", "own", "sale"] | None = Field(
        None,
        description="Whose prices: msp (what the MSPs are charged), own (a distributor's own cost), sale "
        "(what the vendor charges the distributors). Default: sale for vendor staff, msp otherwise",
    )


class ForecastQuery(ReportQuery):
    sort: ForecastSort | None = Field(None, description=SORT_HELP)
    key_id: Id | None = Field(None, description="One key: its forecast whether it is billable yet or not")


class ActivationRowOut(Schema):
    key_id: int
    product_key: str
    product: str
    edition: str
    account: str
    site: str | None
    machine_name: str
    status: str = Field(
        description="The key's status now for a period still open; Deactivated for one that ended"
    )
    activated: datetime = Field(description="The start of the active period")
    deactivated: datetime | None = Field(description="When the active period ended; null while it lasts")
    last_call_home: datetime | None
    version: str


class ActivationReportOut(Schema):
    start: date
    end: date
    sort: str
    count: int = Field(description="Rows in the whole report")
    limit: int
    offset: int
    items: list[ActivationRowOut] = Field(description="One row per active period overlapping the days")


class BillingRowOut(Schema):
    key_id: int
    msp: str
    product_key: str
    product: str
    edition: str
    account: str
    site: str | None
    machine_name: str
    activated: datetime | None
    deactivated: datetime | None = Field(description="When its last active period ended, within the month")
    active_days: int
    billable: bool
    unit_price: str | None = Field(description='e.g. "25.00"; null without a price (never a zero)')
    amount: str | None = Field(description="The unit price when billable, 0 when not; null without a price")
    currency: str | None
    final: bool = Field(description="As billed on a final statement (never changes); false: provisional")


class SubtotalOut(Schema):
    product: str
    edition: str
    currency: str | None
    keys: int
    billable: int
    unpriced: int = Field(description="Billable keys without a price")
    amount: str | None


class TotalOut(Schema):
    currency: str
    amount: str


class BillingReportOut(Schema):
    month: str
    status: Literal["final", "partly final", "provisional"]
    prices: str
    sort: str
    count: int
    limit: int
    offset: int
    items: list[BillingRowOut]
    subtotals: list[SubtotalOut] = Field(
        description="Per product, edition and currency, over the whole month"
    )
    totals: list[TotalOut] = Field(description="Per currency, over the whole month")


class ForecastRowOut(Schema):
    key_id: int
    msp: str
    product_key: str
    product: str
    edition: str
    account: str
    site: str | None
    machine_name: str
    activated: datetime | None
    active_days: int = Field(description="Active days of the running month so far")
    billable: bool = Field(description="Already billable this month")
    billable_on: date | None = Field(
        description="The day it becomes billable if it stays active; null when billable already, not "
        "active, or too late in the month"
    )
    active_now: bool


class ForecastOut(Schema):
    month: str
    today: date
    sort: str
    count: int
    limit: int
    offset: int
    items: list[ForecastRowOut]
