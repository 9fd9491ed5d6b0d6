"""The running month on the overview: the keys turning billable within a week, and the
month's provisional billable count and amount per currency.

Both read the billing engine's rows of the running month as of now
(engine.month_keys(..., as_of=now)) and price them with keyledger.billing.pricing; the day a
key becomes billable comes from engine.billable_on. Nothing here knows the billing rule.

The month's key rows are the costly part (one pass over the month's active spans), so the
overview asks for everything at once with running_month(): one statement whose `mk` CTE
the database computes once (SQLite and PostgreSQL both materialise a CTE used more than
once) and that each part (the list, its count, a total per basis) reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from keyledger.billing import engine
from keyledger.billing.months import Month, local_date
from keyledger.billing.pricing import BASIS_MSP, BASIS_OWN, BASIS_SALE, amount, customer_expression, key_price
from keyledger.billing.sql import Sql, fetch, fetch_dicts
from keyledger.organisations.models import Organisation

# "Turning billable soon": keys that become billable within this many days if left active.
SOON_DAYS = 7


def _with_month_keys(organisation: Organisation, now: datetime) -> tuple[Sql, Month]:
    """`WITH mk AS (…)`: the running month's key rows of the subtree, as of now."""
    month = Month.of(now)
    mk = engine.month_keys(month, engine.Scope(path=organisation.path), as_of=now)
    return Sql(f"WITH mk AS ({mk.text})", mk.params), month


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


@dataclass(frozen=True)
class _Soon:
    month: Month
    today: date
    fewest: int  # the fewest active days so far of a key listed


def _soon(now: datetime, within: int) -> _Soon | None:
    """Which keys are listed: asked of engine.billable_on, the fewest active days so far
    with which a key becomes billable within `within` days (the later a key started, the
    later its day), so that the SQL keeps only those. None: no key can, this month."""
    month, today = Month.of(now), local_date(now)
    horizon = today + timedelta(days=within)
    for days in range(engine.threshold() + 1):
        on = engine.billable_on(month, active_days=days, today=today)
        if on is not None and on <= horizon:
            return _Soon(month, today, days)
    return None


SOON_COLUMNS = "mk.key_id, k.key, p.tab_label AS product, m.name AS msp, a.name AS account, s.name AS site, mk.active_days"
SOON_ORDER = "ORDER BY mk.active_days DESC, k.key"


def _soon_from(fewest: int) -> Sql:
    return Sql(
        """
        FROM mk
        JOIN keys_productkey k ON k.id = mk.key_id
        JOIN keys_product p ON p.id = mk.product_id
        JOIN organisations_organisation m ON m.id = mk.msp_id
        JOIN customers_account a ON a.id = mk.account_id
        LEFT JOIN customers_site s ON s.id = mk.site_id
        WHERE mk.active_at_end = 1 AND mk.billable = 0 AND mk.active_days >= %s
        """,
        [fewest],
    )


def _soon_row(row: dict, soon: _Soon) -> SoonBillable:
    on = engine.billable_on(soon.month, active_days=int(row["active_days"]), today=soon.today)
    assert on is not None  # the SQL keeps only keys that have a day
    return SoonBillable(
        key_id=row["key_id"],
        key=row["key"],
        product=row["product"],
        msp=row["msp"],
        account=row["account"],
        site=row["site"] or "",
        active_days=int(row["active_days"]),
        billable_on=on,
    )


def turning_billable(
    organisation: Organisation, *, now: datetime, within: int = SOON_DAYS, limit: int = 10, offset: int = 0
) -> list[SoonBillable]:
    """The subtree's active keys that become billable this month within `within` days if
    left active, soonest first."""
    soon = _soon(now, within)
    if soon is None:
        return []
    head, _ = _with_month_keys(organisation, now)
    body = _soon_from(soon.fewest)
    rows = fetch_dicts(
        Sql(
            f"{head.text} SELECT {SOON_COLUMNS} {body.text} {SOON_ORDER} LIMIT %s OFFSET %s",
            [*head.params, *body.params, int(limit), int(offset)],
        )
    )
    return [_soon_row(row, soon) for row in rows]


def turning_billable_count(organisation: Organisation, *, now: datetime, within: int = SOON_DAYS) -> int:
    soon = _soon(now, within)
    if soon is None:
        return 0
    head, _ = _with_month_keys(organisation, now)
    body = _soon_from(soon.fewest)
    return int(fetch(Sql(f"{head.text} SELECT COUNT(*) {body.text}", [*head.params, *body.params]))[0][0])


class TurningBillable(Sequence[SoonBillable]):
    """turning_billable() for a Paginator: a count and one slice, two queries a page."""

    def __init__(self, organisation: Organisation, *, now: datetime, within: int = SOON_DAYS) -> None:
        self.organisation, self.now, self.within = organisation, now, within
        self._count: int | None = None

    def count(self) -> int:  # what Paginator asks for
        if self._count is None:
            self._count = turning_billable_count(self.organisation, now=self.now, within=self.within)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: int | slice) -> Any:  # type: ignore[override]
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start = index.start or 0
        stop = index.stop if index.stop is not None else self.count()
        return turning_billable(
            self.organisation, now=self.now, within=self.within, limit=max(stop - start, 0), offset=start
        )


# --- provisional billing ------------------------------------------------------------------


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


def _priced(organisation: Organisation, month: Month, basis: str) -> Sql:
    """Totals per currency ('' for the keys without a price) of the billable rows of `mk`:
    columns currency, n (keys), minor."""
    customer = customer_expression(
        basis, viewer_id=organisation.pk, viewer_path=organisation.path, msp_id="mk.msp_id", msp_path="m.path"
    )
    kp = key_price(month, customer=customer, product="mk.product_id", edition="mk.edition", fields="k.fields")
    return Sql(
        f"""
        SELECT x.currency, COUNT(*) AS n, SUM(x.amount) AS minor
        FROM (
            SELECT CASE WHEN ({kp.unit}) IS NULL THEN '' ELSE {kp.currency} END AS currency,
                   {amount(kp.unit, "mk.billable")} AS amount
            FROM mk
            JOIN keys_productkey k ON k.id = mk.key_id
            JOIN organisations_organisation m ON m.id = mk.msp_id
            {kp.joins.text}
            WHERE mk.billable = 1
        ) x
        GROUP BY x.currency
        """,
        kp.joins.params,
    )


def _provisional(basis: str, rows: list[tuple[str, int, int | None]]) -> Provisional:
    totals = tuple(
        CurrencyTotal(currency=c, keys=int(n), minor=int(m))
        for c, n, m in sorted(rows, key=lambda r: r[0])
        if c
    )
    unpriced = sum(int(n) for c, n, _ in rows if not c)
    return Provisional(
        basis=basis, billable=unpriced + sum(t.keys for t in totals), totals=totals, unpriced=unpriced
    )


def provisional(organisation: Organisation, *, now: datetime, basis: str) -> Provisional:
    """The running month's billable keys of the subtree as of now, priced on `basis`."""
    head, month = _with_month_keys(organisation, now)
    priced = _priced(organisation, month, basis)
    return _provisional(basis, fetch(Sql(f"{head.text} {priced.text}", [*head.params, *priced.params])))


# --- all of it at once --------------------------------------------------------------------


@dataclass(frozen=True)
class RunningMonth:
    month: Month
    soon: list[SoonBillable]
    soon_count: int
    provisional: tuple[Provisional, ...]


def running_month(
    organisation: Organisation,
    *,
    now: datetime,
    bases: Sequence[str],
    within: int = SOON_DAYS,
    limit: int = 10,
) -> RunningMonth:
    """turning_billable(), turning_billable_count() and provisional() for each basis, in one
    statement over one computation of the month's key rows. Each part's rows are told apart
    by `part` (-1: a key turning billable; n: the totals of bases[n])."""
    head, month = _with_month_keys(organisation, now)
    soon = _soon(now, within)
    parts: list[Sql] = []
    if soon is not None:
        body = _soon_from(soon.fewest)
        parts.append(
            Sql(
                f"""SELECT * FROM (
                        SELECT -1 AS part, {SOON_COLUMNS}, CAST(NULL AS TEXT) AS currency, COUNT(*) OVER () AS n,
                               CAST(NULL AS BIGINT) AS minor
                        {body.text} {SOON_ORDER} LIMIT %s) soon""",
                [*body.params, int(limit)],
            )
        )
    for index, basis in enumerate(bases):
        priced = _priced(organisation, month, basis)
        parts.append(
            Sql(
                f"""SELECT {index} AS part, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                           t.currency, t.n, t.minor
                    FROM ({priced.text}) t""",
                priced.params,
            )
        )
    if not parts:
        return RunningMonth(month=month, soon=[], soon_count=0, provisional=())
    rows = fetch_dicts(
        Sql(
            f"{head.text} " + " UNION ALL ".join(p.text for p in parts),
            [*head.params, *(param for p in parts for param in p.params)],
        )
    )
    # A UNION keeps no order: the list is put back in its own (the same as SOON_ORDER).
    listed = sorted((r for r in rows if r["part"] == -1), key=lambda r: (-int(r["active_days"]), r["key"]))
    return RunningMonth(
        month=month,
        soon=[_soon_row(r, soon) for r in listed] if soon else [],
        soon_count=int(listed[0]["n"]) if listed else 0,
        provisional=tuple(
            _provisional(basis, [(r["currency"], r["n"], r["minor"]) for r in rows if r["part"] == index])
            for index, basis in enumerate(bases)
        ),
    )
