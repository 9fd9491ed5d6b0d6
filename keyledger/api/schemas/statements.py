from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from keyledger.api.schemas.price_lists import MonthText
from keyledger.audit.naming import is_from_above
from keyledger.billing import money
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements import margin
from keyledger.billing.statements.queries import lines_of


def _viewer(context: dict[str, Any]):
    return context["request"].auth.organisation


class StatementFilter(Schema):
    month: MonthText | None = Field(
        None,
        description="Only statements of this month (YYYY-MM)",
    )
    status: Literal["draft", "final"] | None = Field(None, description="draft or final")
    issued: Literal["by_you", "to_you"] | None = Field(
        None, description="by_you: statements the token's organisation issues; to_you: those it receives"
    )


class FormatQuery(Schema):
    format: Literal["json", "csv"] | None = Field(
        None, description="csv: the statement's CSV file (as with `Accept: text/csv`)"
    )


class StatementOut(Schema):
    id: int
    number: str | None = Field(description="Null while the statement is a draft")
    month: str = Field(description="YYYY-MM")
    status: str = Field(description="draft (provisional: it follows late events) or final (never changes)")
    issuer_id: int | None = Field(
        description="The organisation that issues it; null when that is above the token's organisation"
    )
    issuer_name: str | None
    customer_id: int
    customer_name: str
    currency: str = Field(description="The currency of the customer's price list; empty without one")
    totals: dict[str, str] = Field(
        description='Per currency, e.g. {"EUR": "74.00"}; no entry without amounts'
    )
    key_count: int = Field(description="Keys active in the month")
    billable_count: int
    unpriced_count: int = Field(description="Billable keys without a price: their lines have no amount")
    computed_at: datetime
    finalised_at: datetime | None
    finalised_by: str | None = Field(
        description="Who made it final (email, token or worker); null while a draft, or when that was "
        "someone above the token's organisation"
    )
    content_sha256: str | None = Field(description="SHA-256 of the canonical content of a final statement")

    @staticmethod
    def resolve_month(obj: Statement) -> str:
        return str(Month.of(obj.month))

    @staticmethod
    def resolve_issuer_id(obj: Statement, context: dict[str, Any]) -> int | None:
        return obj.issuer_id if obj.issuer.is_within(_viewer(context)) else None

    @staticmethod
    def resolve_issuer_name(obj: Statement, context: dict[str, Any]) -> str | None:
        return obj.issuer.name if obj.issuer.is_within(_viewer(context)) else None

    @staticmethod
    def resolve_customer_name(obj: Statement) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_totals(obj: Statement) -> dict[str, str]:
        return {c: money.format_plain(int(v), c) for c, v in sorted(obj.totals.items())}

    @staticmethod
    def resolve_finalised_by(obj: Statement, context: dict[str, Any]) -> str | None:
        if not obj.is_final or is_from_above(obj.finalised_by, _viewer(context)):
            return None
        return obj.finalised_by_label

    @staticmethod
    def resolve_content_sha256(obj: Statement) -> str | None:
        return obj.content_sha256 or None


class LineOut(Schema):
    position: int
    kind: str = Field(description="charge, or correction (of an earlier final statement)")
    description: str
    product: str | None = Field(description="The product's code")
    item: str = Field(description="Edition or job license type priced; empty for a price per key")
    quantity: int = Field(description="Billable keys, or licenses; a correction's change in billable keys")
    unit_price: str | None = Field(description="Null without a price")
    amount: str | None = Field(description="Null without a price (never a zero for an unpriced line)")
    currency: str
    corrects: str | None = Field(description="The number of the final statement a correction corrects")
    product_key: str | None = Field(description="The key a correction is about")


class MarginOut(Schema):
    currency: str
    charged: str | None = Field(description="What the statement charges (corrections left out)")
    cost: str | None = Field(description="What the issuer pays for the same keys; null without its prices")
    margin: str | None = Field(description="Charged less cost; null when either has no amount")


class StatementDetailOut(StatementOut):
    lines: list[LineOut]
    margin: list[MarginOut] | None = Field(
        description="For the issuer only: its own cost for the same keys and its margin, per currency"
    )

    @staticmethod
    def resolve_lines(obj: Statement) -> list[dict[str, Any]]:
        return [
            {
                "position": line.position,
                "kind": line.kind,
                "description": line.description,
                "product": line.product.code if line.product_id else None,
                "item": line.item,
                "quantity": line.quantity,
                "unit_price": money.format_plain(line.unit_minor, line.currency) or None,
                "amount": money.format_plain(line.amount_minor, line.currency) or None,
                "currency": line.currency,
                "corrects": line.corrects.number if line.corrects_id else None,
                "product_key": line.key.key if line.key_id else None,
            }
            for line in lines_of(obj).select_related("product")
        ]

    @staticmethod
    def resolve_margin(obj: Statement, context: dict[str, Any]) -> list[dict[str, Any]] | None:
        if _viewer(context).pk != obj.issuer_id:
            return None
        found = margin(obj)
        if found is None:
            return None
        return [
            {
                "currency": row.currency,
                "charged": money.format_plain(row.sale, row.currency) or None,
                "cost": money.format_plain(row.cost, row.currency) or None,
                "margin": money.format_plain(row.margin, row.currency) or None,
            }
            for row in found.rows
        ]
