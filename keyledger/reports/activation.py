"""The Activation Report (SPEC §9): one row per active period of a key that overlaps the
chosen days.

Periods are read from the active spans (keyledger.billing.models.ActiveSpan). A period's
last span (the one its deactivation closed, or the one still open) says where the key
ended up: its edition, account, site and machine. Activated is the start of the period;
Deactivated is when it ended. Status is the key's status now for a period still open and
Deactivated for one that ended; Last Call Home and Version are the key's own while open
and those kept with the span when the period ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from keyledger.billing.months import local_midnight
from keyledger.billing.sql import Sql, dt
from keyledger.keys.models import Product, ProductKey
from keyledger.reports.labels import edition_label, status_label
from keyledger.reports.scope import ReportScope
from keyledger.reports.sorting import CODE, NUMBER, TIME, Column, Sort, parse_sort
from keyledger.reports.table import Table

COLUMNS = (
    Column("product_key", "Product Key", "r.product_key", CODE),
    Column("product", "Product", "r.product"),
    Column("edition", "Edition", "r.edition"),
    Column("account", "Account", "r.account"),
    Column("site", "Site", "r.site"),
    Column("machine_name", "Machine Name", "r.machine_name"),
    Column("status", "Status", "r.status"),
    Column("activated", "Activated", "r.activated", TIME),
    Column("deactivated", "Deactivated", "r.deactivated", TIME),
    Column("last_call_home", "Last Call Home", "r.last_call_home", TIME),
    Column("version", "Version", "r.version"),
)
HEADER = [c.heading for c in COLUMNS]
DEFAULT_SORT = "activated"
# Not a column of the file: the key behind a row, for links.
KEY_ID = Column("key_id", "Key", "r.key_id", NUMBER)


def sort_for(value: str | None) -> Sort:
    return parse_sort(value, COLUMNS, DEFAULT_SORT)


@dataclass(frozen=True)
class Days:
    """Calendar days of the billing time zone, first to last inclusive, as UTC instants."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1))


class ActivationReport(Table):
    columns = COLUMNS
    default_sort = DEFAULT_SORT
    tiebreak = ("r.span_id",)

    def __init__(
        self,
        *,
        scope: ReportScope,
        days: Days,
        products: Sequence[Product],
        product_ids: Sequence[int] = (),
        sort: Sort,
        now: datetime,
    ) -> None:
        super().__init__(sort=sort)
        self.scope = scope
        self.days = days
        self.products = list(products)
        self.product_ids = tuple(product_ids)
        self.now = now

    def rows_sql(self) -> Sql:
        edition = edition_label(self.products, product="sp.product_id", edition="sp.edition")
        status = status_label(state="k.state", due="k.critical_due_at", now=self.now)
        where = self.scope.engine_scope(self.product_ids).where("sp")
        text = f"""
            SELECT sp.id AS span_id, sp.key_id AS key_id, k.key AS product_key, p.name AS product,
                   {edition.text} AS edition, a.name AS account, s.name AS site,
                   sp.machine_name AS machine_name,
                   CASE WHEN sp.ended_at IS NULL THEN {status.text} ELSE %s END AS status,
                   sp.period_start AS activated,
                   sp.ended_at AS deactivated,
                   CASE WHEN sp.ended_at IS NULL THEN k.last_call_home_at ELSE sp.last_call_home_at END
                       AS last_call_home,
                   CASE WHEN sp.ended_at IS NULL THEN k.version ELSE sp.version END AS version
            FROM billing_activespan sp
            JOIN keys_productkey k ON k.id = sp.key_id
            JOIN keys_product p ON p.id = sp.product_id
            JOIN customers_account a ON a.id = sp.account_id
            LEFT JOIN customers_site s ON s.id = sp.site_id
            WHERE (sp.ends_period OR sp.ended_at IS NULL)
              AND sp.period_start < %s
              AND (sp.ended_at IS NULL OR sp.ended_at > %s OR sp.period_start >= %s)
              {where.text}
        """
        params = [
            *edition.params,
            *status.params,
            ProductKey.State.DEACTIVATED.label,
            dt(self.days.end),
            dt(self.days.start),
            dt(self.days.start),
            *where.params,
        ]
        return Sql(text, params)
