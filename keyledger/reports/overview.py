"""The home overview of an organisation's subtree: its keys by status now, the Critical
keys, the keys turning billable within a week, and this month's provisional billing.

Every function is a fixed number of queries whatever the number of keys: counts are one
GROUP BY, lists are one query each (with a LIMIT), and billing asks the billing engine
(keyledger.billing.engine) and prices (keyledger.billing.pricing); nothing here knows the
billing rule itself. The charts are in keyledger.reports.overview_charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Case, CharField, Count, F, QuerySet, Value, When

from keyledger.billing import engine
from keyledger.billing.months import Month, local_date
from keyledger.billing.pricing import BASIS_MSP, BASIS_OWN, BASIS_SALE, amount, customer_expression, key_price
from keyledger.billing.sql import Sql, fetch, fetch_dicts
from keyledger.keys.models import ProductKey
from keyledger.organisations.models import Organisation

State = ProductKey.State

# The order the overview shows the statuses in: what runs, what needs attention, the
# requests waiting for the next call home, then what does not run.
STATUSES: tuple[str, ...] = (
    State.OK,
    State.CRITICAL,
    State.DEACTIVATION_REQUESTED,
    State.REACTIVATION_REQUESTED,
    State.UNUSED,
    State.DEACTIVATED,
)

# "Turning billable soon": keys that become billable within this many days if left active.
SOON_DAYS = 7


def scope_for(organisation: Organisation) -> engine.Scope:
    """The billing engine's scope of an organisation's subtree: the keys of every MSP at or
    below it, exactly the keys keyledger.access.keys_for_user gives its users."""
    return engine.Scope(path=organisation.path)


# --- keys by status -----------------------------------------------------------------------


def state_now(now: datetime) -> Case:
    """ProductKey.state_at(now) as an SQL expression: an OK key silent past its critical
    threshold is Critical, and a pending deactivation past its offline lease is Deactivated,
    before the worker writes either down (at exactly the due time nothing has changed yet)."""
    return Case(
        When(state=State.OK, critical_due_at__lt=now, then=Value(State.CRITICAL.value)),
        When(
            state=State.DEACTIVATION_REQUESTED, critical_due_at__lt=now, then=Value(State.DEACTIVATED.value)
        ),
        default=F("state"),
        output_field=CharField(),
    )


def status_counts(keys: QuerySet[ProductKey], *, now: datetime) -> dict[str, int]:
    """How many of `keys` are in each status now (every status present, 0 when none)."""
    rows = keys.order_by().annotate(shown=state_now(now)).values("shown").annotate(n=Count("id"))
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["shown"]] = row["n"]
    return counts


def keys_in_status(keys: QuerySet[ProductKey], status: str, *, now: datetime) -> QuerySet[ProductKey]:
    """The keys shown in `status` now, with what their rows show. Critical keys come longest
    silent first (those need a look first); the others as Key Management lists them."""
    shown = keys.alias(shown=state_now(now)).filter(shown=status)
    order = ("last_call_home_at", "id") if status == State.CRITICAL else ("created_at", "id")
    return shown.select_related("product", "msp", "account", "site").order_by(*order)


# --- turning billable ---------------------------------------------------------------------


@dataclass(frozen=True)
class SoonBillable:
    """An active key not billable yet this month that will be on `billable_on` if it stays active."""

    key_id: int
    key: str
    product: str
    msp: str
    account: str
    site: str
    active_days: int
    billable_on: date


def _fewest_days(month: Month, *, today: date, horizon: date) -> int | None:
    """The fewest active days so far with which a key becomes billable by `horizon`, asked
    of engine.billable_on (the later the key started, the later its day): the SQL filter
    below, so that only the keys listed leave the database."""
    for days in range(engine.threshold() + 1):
        on = engine.billable_on(month, active_days=days, today=today)
        if on is not None and on <= horizon:
            return days
    return None


def _soon_sql(scope: engine.Scope, *, now: datetime, within: int) -> tuple[Sql, Month, date] | None:
    month = Month.of(now)
    today = local_date(now)
    fewest = _fewest_days(month, today=today, horizon=today + timedelta(days=within))
    if fewest is None:
        return None
    mk = engine.month_keys(month, scope, as_of=now)
    sql = Sql(
        f"""
        FROM ({mk.text}) mk
        JOIN keys_productkey k ON k.id = mk.key_id
        JOIN keys_product p ON p.id = mk.product_id
        JOIN organisations_organisation m ON m.id = mk.msp_id
        JOIN customers_account a ON a.id = mk.account_id
        LEFT JOIN customers_site s ON s.id = mk.site_id
        WHERE mk.active_at_end = 1 AND mk.billable = 0 AND mk.active_days >= %s
        """,
        [*mk.params, fewest],
    )
    return sql, month, today


def turning_billable(
    scope: engine.Scope, *, now: datetime, within: int = SOON_DAYS, limit: int = 10, offset: int = 0
) -> list[SoonBillable]:
    """The active keys that become billable this month within `within` days if left active,
    soonest first (the day comes from engine.billable_on)."""
    found = _soon_sql(scope, now=now, within=within)
    if found is None:
        return []
    sql, month, today = found
    rows = fetch_dicts(
        Sql(
            f"""SELECT mk.key_id, k.key, p.name AS product, m.name AS msp, a.name AS account,
                       s.name AS site, mk.active_days
                {sql.text}
                ORDER BY mk.active_days DESC, k.key
                LIMIT %s OFFSET %s""",
            [*sql.params, int(limit), int(offset)],
        )
    )
    soon = []
    for row in rows:
        on = engine.billable_on(month, active_days=int(row["active_days"]), today=today)
        assert on is not None  # the SQL filter keeps only keys with a day
        soon.append(
            SoonBillable(
                key_id=row["key_id"],
                key=row["key"],
                product=row["product"],
                msp=row["msp"],
                account=row["account"],
                site=row["site"] or "",
                active_days=int(row["active_days"]),
                billable_on=on,
            )
        )
    return soon


def turning_billable_count(scope: engine.Scope, *, now: datetime, within: int = SOON_DAYS) -> int:
    found = _soon_sql(scope, now=now, within=within)
    if found is None:
        return 0
    sql = found[0]
    return int(fetch(Sql(f"SELECT COUNT(*) {sql.text}", sql.params))[0][0])


class TurningBillable(Sequence[SoonBillable]):
    """turning_billable() for a Paginator: a count and one slice, two queries a page."""

    def __init__(self, scope: engine.Scope, *, now: datetime, within: int = SOON_DAYS) -> None:
        self.scope, self.now, self.within = scope, now, within
        self._count: int | None = None

    def count(self) -> int:  # type: ignore[override]  # what Paginator asks for
        if self._count is None:
            self._count = turning_billable_count(self.scope, now=self.now, within=self.within)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):  # type: ignore[override]
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start, stop = index.start or 0, index.stop if index.stop is not None else self.count()
        return turning_billable(
            self.scope, now=self.now, within=self.within, limit=max(stop - start, 0), offset=start
        )


# --- this month's provisional billing -----------------------------------------------------


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    keys: int
    minor: int


@dataclass(frozen=True)
class Provisional:
    """This month's billable keys so far, priced on one basis: totals per currency, and the
    billable keys no price covers (counted, never shown as an amount of zero)."""

    basis: str
    billable: int
    totals: tuple[CurrencyTotal, ...]
    unpriced: int


def bases_for(organisation: Organisation) -> tuple[str, ...]:
    """Whose prices the overview shows: an MSP what it pays; a distributor what its MSPs are
    charged, and its own cost beside it; the vendor what it charges its distributors."""
    if organisation.kind == Organisation.Kind.MSP:
        return (BASIS_MSP,)
    if organisation.kind == Organisation.Kind.VENDOR:
        return (BASIS_SALE,)
    return (BASIS_MSP, BASIS_OWN)


def provisional(organisation: Organisation, *, now: datetime, basis: str) -> Provisional:
    """The running month's billable keys of the subtree as of now, priced on `basis`: one query."""
    month = Month.of(now)
    mk = engine.month_keys(month, scope_for(organisation), as_of=now)
    customer = customer_expression(
        basis,
        viewer_id=organisation.pk,
        viewer_path=organisation.path,
        msp_id="mk.msp_id",
        msp_path="m.path",
    )
    kp = key_price(month, customer=customer, product="mk.product_id", edition="mk.edition", fields="k.fields")
    rows = fetch(
        Sql(
            f"""
            SELECT x.currency, COUNT(*), SUM(x.amount)
            FROM (
                SELECT CASE WHEN ({kp.unit}) IS NULL THEN '' ELSE {kp.currency} END AS currency,
                       {amount(kp.unit, "mk.billable")} AS amount
                FROM ({mk.text}) mk
                JOIN keys_productkey k ON k.id = mk.key_id
                JOIN organisations_organisation m ON m.id = mk.msp_id
                {kp.joins.text}
                WHERE mk.billable = 1
            ) x
            GROUP BY x.currency
            ORDER BY x.currency
            """,
            [*mk.params, *kp.joins.params],
        )
    )
    totals = tuple(CurrencyTotal(currency=c, keys=int(n), minor=int(m)) for c, n, m in rows if c)
    unpriced = sum(int(n) for c, n, _ in rows if not c)
    return Provisional(
        basis=basis, billable=unpriced + sum(t.keys for t in totals), totals=totals, unpriced=unpriced
    )
