"""A final statement never changes: the database refuses it, and later events (a lease that
ended inside the month, written down afterwards; a moved key; a new price) leave its CSV
bytes and hash as they were. What they change goes on the next draft as a correction, once."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction

from keyledger.audit.actor import Actor
from keyledger.billing.models import Statement, StatementItem, StatementLine
from keyledger.billing.months import Month
from keyledger.billing.statements import (
    close_month,
    finalise,
    is_stale,
    refresh_stale_drafts,
    statement_csv,
    verify,
)
from keyledger.keys import actions
from keyledger.keys.models import ProductKey
from keyledger.keys.sweeper import sweep
from keyledger.testing.billing import LAST_CALL, NOVEMBER, lapsing_key, november, set_price

DECEMBER = Month(2026, 12)
MESSAGE = "A final statement never changes"


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 12, 2, 10, tzinfo=UTC), tick=True) as traveller:
        yield traveller


def final(customer, month=NOVEMBER):
    return Statement.objects.select_related("issuer", "customer").get(
        customer=customer, month=month.first_day
    )


def refused(sql, params=()):
    with pytest.raises(DatabaseError, match=MESSAGE), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def finalised(tree, clock):
    world = november(tree)
    close_month(month=NOVEMBER)
    statement = finalise(statement=final(tree.msp_a1), actor=Actor(user=tree.dist_a_admin))
    return world, statement


def test_the_database_refuses_to_change_a_final_statement(tree, finalised):
    _, statement = finalised
    line = StatementLine.objects.filter(statement=statement).first()
    item = StatementItem.objects.filter(statement=statement).first()
    refused("UPDATE billing_statement SET totals = %s WHERE id = %s", ['{"EUR": 1}', statement.pk])
    refused("UPDATE billing_statement SET status = 'draft' WHERE id = %s", [statement.pk])
    refused("DELETE FROM billing_statement WHERE id = %s", [statement.pk])
    refused("UPDATE billing_statementline SET amount_minor = 1 WHERE id = %s", [line.pk])
    refused("DELETE FROM billing_statementline WHERE id = %s", [line.pk])
    refused(
        "INSERT INTO billing_statementline (statement_id, position, kind, item, description, quantity, currency)"
        " VALUES (%s, 99, 'charge', '', 'Extra', 1, 'EUR')",
        [statement.pk],
    )
    refused("UPDATE billing_statementitem SET billable = %s WHERE id = %s", [False, item.pk])
    refused("DELETE FROM billing_statementitem WHERE id = %s", [item.pk])
    with pytest.raises(DatabaseError, match=MESSAGE), transaction.atomic():
        Statement.objects.filter(pk=statement.pk).update(number="ND-2026-11-0099")
    assert verify(Statement.objects.get(pk=statement.pk))
    # A draft is still written freely.
    draft = final(tree.msp_a2)
    Statement.objects.filter(pk=draft.pk).update(key_count=7)


def test_later_events_leave_a_final_statements_bytes_and_hash_as_they_were(tree, clock):
    world = november(tree)
    lapsing = lapsing_key(tree.account_a1, last_call=LAST_CALL, actor=Actor(user=tree.msp_a1_admin))
    close_month(month=NOVEMBER)
    acme = finalise(statement=final(tree.msp_a1), actor=Actor(user=tree.dist_a_admin))
    northwind = finalise(statement=final(tree.dist_a), actor=Actor(user=tree.vendor_admin))
    before = {s.pk: ("".join(statement_csv(s)), s.content_sha256) for s in (acme, northwind)}
    assert acme.billable_count == 5  # the lapsing key counted all month: nothing recorded yet

    clock.shift(timedelta(days=1))
    sweep()  # the worker was down: the lease's end is written down after the month is final
    lapsing.refresh_from_db()
    assert lapsing.state == ProductKey.State.DEACTIVATED
    actions.move_key(
        key=world.server, account=tree.account_a1, site=None, actor=Actor(user=tree.msp_a1_admin)
    )
    set_price(tree.msp_a1, "spmsp", "server", 3000, month=NOVEMBER)
    close_month(month=NOVEMBER)
    refresh_stale_drafts()

    for statement in (acme, northwind):
        stored = final(statement.customer)
        assert ("".join(statement_csv(stored)), stored.content_sha256) == before[stored.pk]
        assert verify(stored) and stored.number == statement.number


def test_a_change_to_a_final_month_is_corrected_once_on_the_next_draft(tree, clock):
    november(tree)
    lapsing = lapsing_key(tree.account_a1, last_call=LAST_CALL, actor=Actor(user=tree.msp_a1_admin))
    close_month(month=NOVEMBER)
    acme = finalise(statement=final(tree.msp_a1), actor=Actor(user=tree.dist_a_admin))
    northwind = finalise(statement=final(tree.dist_a), actor=Actor(user=tree.vendor_admin))
    clock.shift(timedelta(days=1))
    sweep()
    set_price(tree.msp_a1, "spmsp", "server", 3000, month=NOVEMBER)

    clock.move_to(datetime(2027, 1, 2, 10, tzinfo=UTC))
    close_month(month=DECEMBER)
    corrections = list(final(tree.msp_a1, DECEMBER).lines.filter(kind="correction").order_by("position"))
    key = lapsing.key
    assert [(c.description, c.quantity, c.amount_minor, c.corrects_id) for c in corrections] == [
        # The server key now costs 30.00 in November: 5.00 more than billed.
        (
            f"Correction to {acme.number}, key {final_key(tree)}: amount 30.00 instead of 25.00",
            0,
            500,
            acme.pk,
        ),
        # Billed 25.00 as active all month; its lease ended on the 9th.
        (
            f"Correction to {acme.number}, key {key}: not billable after all (9 active days)",
            -1,
            -2500,
            acme.pk,
        ),
    ]
    # Northwind pays the vendor its own price for the lapsed key: 18.00 back.
    (wholesale,) = final(tree.dist_a, DECEMBER).lines.filter(kind="correction")
    assert (wholesale.quantity, wholesale.amount_minor, wholesale.corrects_id) == (-1, -1800, northwind.pk)
    december_totals = final(tree.msp_a1, DECEMBER).totals

    finalise(statement=final(tree.msp_a1, DECEMBER), actor=Actor(user=tree.dist_a_admin))
    assert final(tree.msp_a1, DECEMBER).totals == december_totals
    clock.move_to(datetime(2027, 2, 2, 10, tzinfo=UTC))
    close_month(month=Month(2027, 1))
    assert not final(tree.msp_a1, Month(2027, 1)).lines.filter(kind="correction").exists()
    # Not on a later draft either while the December one is still a draft.
    assert final(tree.dist_a, DECEMBER).lines.filter(kind="correction").count() == 1
    assert not final(tree.dist_a, Month(2027, 1)).lines.filter(kind="correction").exists()


def final_key(tree):
    return ProductKey.objects.get(account=tree.account_a1, site=tree.site_a1).key


def test_a_draft_is_stale_after_a_late_event_and_fresh_after_a_refresh(tree, clock):
    november(tree)
    lapsing_key(tree.account_a1, last_call=LAST_CALL, actor=Actor(user=tree.msp_a1_admin))
    close_month(month=NOVEMBER)
    acme = final(tree.msp_a1)
    assert not is_stale(acme) and acme.billable_count == 5
    clock.shift(timedelta(hours=1))
    sweep()
    assert is_stale(final(tree.msp_a1)) and is_stale(final(tree.dist_a))
    assert not is_stale(final(tree.msp_a2))
    assert refresh_stale_drafts() == 2
    assert final(tree.msp_a1).billable_count == 4
    assert not is_stale(final(tree.msp_a1))
    clock.shift(timedelta(hours=1))
    set_price(tree.msp_a2, "spmsp", "server", 2700, month=NOVEMBER)
    assert is_stale(final(tree.msp_a2)) and not is_stale(final(tree.msp_a1))
    assert refresh_stale_drafts() == 1
    assert final(tree.msp_a2).totals == {"EUR": 2700}
