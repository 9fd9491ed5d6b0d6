"""Reading statements: the lists (filters), one statement's lines and totals, and the issuer's
margin on a statement it issues (its own cost for the same keys, from its own price list)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from keyledger.billing import money
from keyledger.billing.engine import Scope, month_keys
from keyledger.billing.models import Statement, StatementLine
from keyledger.billing.months import Month
from keyledger.billing.statements.aggregate import Catalog, items_source, key_groups, tally
from keyledger.billing.statements.lines import PriceBook, charges
from keyledger.organisations.models import Organisation

Status = Statement.Status
ISSUED = "issued"
RECEIVED = "received"
DIRECTIONS = {ISSUED: "Issued by you", RECEIVED: "Issued to you"}


def filtered(
    statements: QuerySet[Statement],
    *,
    viewer: Organisation,
    month: Month | None = None,
    status: str | None = None,
    direction: str | None = None,
) -> QuerySet[Statement]:
    """`statements` (already scoped by keyledger.access) narrowed by the list's filters."""
    if month is not None:
        statements = statements.filter(month=month.first_day)
    if status in Status.values:
        statements = statements.filter(status=status)
    if direction == ISSUED:
        statements = statements.filter(issuer=viewer)
    elif direction == RECEIVED:
        statements = statements.filter(customer=viewer)
    return statements.select_related("issuer", "customer", "finalised_by__organisation").order_by(
        "-month", "customer__name", "pk"
    )


def months_of(statements: QuerySet[Statement]) -> list[Month]:
    """The months that have statements, newest first (the list's month filter)."""
    return [Month.of(m) for m in statements.order_by("-month").values_list("month", flat=True).distinct()]


def lines_of(statement: Statement) -> QuerySet[StatementLine]:
    return statement.lines.select_related("corrects", "key").order_by("position")


def charge_totals(statement: Statement) -> dict[str, int]:
    """What the statement charges per currency, corrections left out (the margin's sale)."""
    sums: dict[str, int] = {}
    for currency, minor in statement.lines.filter(
        kind=StatementLine.Kind.CHARGE, amount_minor__isnull=False
    ).values_list("currency", "amount_minor"):
        sums[currency] = sums.get(currency, 0) + minor
    return sums


@dataclass
class MarginRow:
    currency: str
    sale: int | None
    cost: int | None

    @property
    def margin(self) -> int | None:
        """None when one side has no amount in this currency: no margin to speak of."""
        if self.sale is None or self.cost is None:
            return None
        return self.sale - self.cost

    def shown(self, minor: int | None) -> str:
        return money.format_display(minor, self.currency) if minor is not None else "—"


@dataclass
class Margin:
    """The issuer's own cost for the keys of a statement it issues, and its margin per currency."""

    sale: dict[str, int] = field(default_factory=dict)
    cost: dict[str, int] = field(default_factory=dict)
    cost_unpriced: int = 0  # billable keys the issuer has no cost price for

    @property
    def margin(self) -> dict[str, int]:
        """Per currency with amounts on both sides."""
        return {c: self.sale[c] - self.cost[c] for c in sorted(set(self.sale) & set(self.cost))}

    @property
    def rows(self) -> list[MarginRow]:
        return [
            MarginRow(c, self.sale.get(c), self.cost.get(c)) for c in sorted(set(self.sale) | set(self.cost))
        ]


def margin(statement: Statement) -> Margin | None:
    """For a statement issued by an organisation that is itself billed (a distributor): its
    cost for the same keys, priced from its own list, and the margin. None for the vendor."""
    issuer = statement.issuer
    if issuer.parent_id is None:
        return None
    month = Month.of(statement.month)
    catalog = Catalog.load()
    source = (
        items_source(statement.pk)
        if statement.is_final
        else month_keys(month, Scope(path=statement.customer.path))
    )
    book = PriceBook(month, customer_ids=[issuer.pk])
    cost = charges(tally(key_groups(source, catalog)), issuer.pk, book, catalog)
    return Margin(sale=charge_totals(statement), cost=cost.totals, cost_unpriced=cost.unpriced_count)
