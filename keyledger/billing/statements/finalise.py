"""Making a draft final, in one transaction: lock the draft, freeze every key of the month in
the customer's subtree as a StatementItem (names, active days, billable, unit, amount, as
they are now), sum the charge lines from those items, add the corrections due, take the
number, hash the canonical content, and flip draft → final. After that the database refuses
any change to the statement, its lines and its items (migration 0002).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from keyledger.audit.actor import Actor, Channel
from keyledger.audit.record import record
from keyledger.billing.engine import Scope, month_keys
from keyledger.billing.models import Statement, StatementItem, StatementLine
from keyledger.billing.months import Month
from keyledger.billing.pricing import amount, key_price
from keyledger.billing.sql import Sql, fetch_dicts
from keyledger.billing.statements import corrections, numbering
from keyledger.billing.statements.aggregate import Catalog, items_source, key_groups, tally
from keyledger.billing.statements.compute import MonthNotEnded, latest_event_id, require_ended
from keyledger.billing.statements.content import content_sha256
from keyledger.billing.statements.lines import Content, PriceBook, charges
from keyledger.billing.statements.orgs import OrgIndex

log = logging.getLogger("keyledger.billing")
Status = Statement.Status
ITEM_COLUMNS = (
    "statement_id, key_id, msp_id, product_id, edition, account_id, site_id, msp_name, product_name,"
    " account_name, site_name, machine_name, activated_at, deactivated_at, active_days, billable,"
    " unit_minor, amount_minor, currency"
)


class StatementMismatch(RuntimeError):
    """The lines summed from the items disagree with the items' own amounts: a price changed
    while the statement was being made final. Nothing is written; the next attempt succeeds."""


def grace() -> timedelta:
    return timedelta(days=settings.KEYLEDGER_STATEMENT_GRACE_DAYS)


def insert_items(statement: Statement, month: Month, customer_path: str) -> int:
    """Freeze every key of the month in the customer's subtree, priced from its own list,
    with one INSERT … SELECT (the rule from engine.month_keys, the price from key_price)."""
    base = month_keys(month, Scope(path=customer_path))
    price = key_price(
        month,
        customer=str(int(statement.customer_id)),
        product="mk.product_id",
        edition="mk.edition",
        fields="k.fields",
    )
    sql = Sql(
        f"""INSERT INTO billing_statementitem ({ITEM_COLUMNS})
            SELECT %s, mk.key_id, mk.msp_id, mk.product_id, COALESCE(mk.edition, ''), mk.account_id,
                   mk.site_id, m.name, p.name, a.name, COALESCE(s.name, ''), COALESCE(mk.machine_name, ''),
                   mk.activated_at, mk.deactivated_at, mk.active_days, (mk.billable = 1),
                   {price.unit}, {amount(price.unit, "mk.billable")}, COALESCE({price.currency}, '')
            FROM ({base.text}) mk
            JOIN keys_productkey k ON k.id = mk.key_id
            JOIN organisations_organisation m ON m.id = mk.msp_id
            JOIN keys_product p ON p.id = mk.product_id
            JOIN customers_account a ON a.id = mk.account_id
            LEFT JOIN customers_site s ON s.id = mk.site_id
            {price.joins.text}""",
        [statement.pk, *base.params, *price.joins.params],
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        return cursor.rowcount


def _check(statement: Statement, content: Content) -> None:
    """Per product without unpriced keys, the charge lines add up to the items' amounts."""
    rows = fetch_dicts(
        Sql(
            """SELECT product_id, SUM(CASE WHEN billable THEN amount_minor ELSE 0 END) AS total,
                      SUM(CASE WHEN billable AND unit_minor IS NULL THEN 1 ELSE 0 END) AS unpriced
               FROM billing_statementitem WHERE statement_id = %s GROUP BY product_id""",
            [statement.pk],
        )
    )
    for row in rows:
        if row["unpriced"]:
            continue
        lines = sum(
            line.amount_minor or 0
            for line in content.lines
            if line.kind == StatementLine.Kind.CHARGE and line.product_id == row["product_id"]
        )
        if lines != int(row["total"] or 0):
            raise StatementMismatch(f"Statement {statement.pk}: lines {lines} ≠ items {row['total']}")


def _make_final(locked: Statement, *, actor: Actor, now: datetime) -> Statement:
    month = Month.of(locked.month)
    customer = locked.customer
    watermark = latest_event_id()
    catalog = Catalog.load()
    StatementLine.objects.filter(statement=locked).delete()
    StatementItem.objects.filter(statement=locked).delete()
    insert_items(locked, month, customer.path)
    book = PriceBook(month, customer_ids=[customer.pk])
    content = charges(tally(key_groups(items_source(locked.pk), catalog)), customer.pk, book, catalog)
    _check(locked, content)
    due = corrections.pending(
        month, orgs=OrgIndex.load(under=customer.path), catalog=catalog, customer_ids=[customer.pk]
    )
    content.lines += due.get(customer.pk, [])
    StatementLine.objects.bulk_create(
        [line.as_line(locked.pk, n) for n, line in enumerate(content.lines, start=1)], batch_size=1000
    )
    locked.status = Status.FINAL
    locked.number = numbering.take_number(locked.issuer, month)
    locked.currency = content.currency
    locked.totals = content.totals
    locked.key_count = content.key_count
    locked.billable_count = content.billable_count
    locked.unpriced_count = content.unpriced_count
    locked.computed_at = now
    locked.event_watermark = watermark
    locked.finalised_at = now
    locked.finalised_by = actor.user
    locked.finalised_by_label = actor.label[:255]
    locked.content_sha256 = content_sha256(locked)
    # The one UPDATE that makes it final (the triggers allow draft → final, nothing after).
    locked.save(
        update_fields=[
            "status",
            "number",
            "currency",
            "totals",
            "key_count",
            "billable_count",
            "unpriced_count",
            "computed_at",
            "event_watermark",
            "finalised_at",
            "finalised_by",
            "finalised_by_label",
            "content_sha256",
        ]
    )
    record(
        actor=actor,
        action="statement.finalise",
        organisation=customer,
        obj=locked,
        changes={"status": [Status.DRAFT, Status.FINAL], "number": [None, locked.number]},
    )
    return locked


@transaction.atomic
def _finalise(pk: int, *, actor: Actor, now: datetime, wait: bool) -> tuple[Statement | None, bool]:
    """(the statement, whether this call made it final); (None, False) when another process
    holds it and `wait` is false."""
    qs = Statement.objects.select_for_update(skip_locked=not wait, of=("self",)).select_related(
        "issuer", "customer"
    )
    locked = qs.filter(pk=pk).first()
    if locked is None:
        return None, False  # another process is finalising it right now
    if locked.is_final:
        return locked, False
    try:
        require_ended(Month.of(locked.month), now)
    except MonthNotEnded as exc:
        raise ValidationError(str(exc), code="month_not_ended") from None
    return _make_final(locked, actor=actor, now=now), True


def finalise(*, statement: Statement, actor: Actor, now: datetime | None = None) -> Statement:
    """Make a draft final (its month must have ended). Finalising a final statement returns it
    as it is; two at once give one final statement and one number."""
    result, _ = _finalise(statement.pk, actor=actor, now=now or timezone.now(), wait=True)
    assert result is not None
    return result


def due_drafts(now: datetime) -> list[int]:
    """Drafts whose month ended more than KEYLEDGER_STATEMENT_GRACE_DAYS days ago."""
    candidates = Statement.objects.filter(status=Status.DRAFT, month__lt=Month.of(now).first_day)
    return [
        pk
        for pk, month in candidates.order_by("month", "pk").values_list("pk", "month")
        if Month.of(month).end + grace() <= now
    ]


def finalise_due(*, now: datetime | None = None) -> list[Statement]:
    """Make final every draft past its grace days (the worker). A draft another process is
    finalising is skipped; one that fails is logged and tried again next time."""
    now = now or timezone.now()
    actor = Actor.system(Channel.WORKER)
    done: list[Statement] = []
    for pk in due_drafts(now):
        try:
            statement, made = _finalise(pk, actor=actor, now=now, wait=False)
        except (DatabaseError, StatementMismatch):
            log.exception("Statement %s could not be made final; trying again later.", pk)
            continue
        if made and statement is not None:
            done.append(statement)
    return done
