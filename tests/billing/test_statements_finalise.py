"""Finalise: one transaction freezes the keys, the lines and the number, and hashes the
canonical content; twice is once; the worker finalises drafts past their grace days."""

import csv
import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from keyledger.audit.actor import Actor, Channel
from keyledger.audit.models import AuditEntry
from keyledger.billing.models import Statement, StatementCounter, StatementItem
from keyledger.billing.months import Month
from keyledger.billing.statements import (
    canonical,
    close_month,
    content_sha256,
    finalise,
    finalise_due,
    margin,
    statement_csv,
    verify,
)
from keyledger.billing.statements.content import CSV_HEADER
from keyledger.testing.billing import NOVEMBER, november

DECEMBER_2 = datetime(2026, 12, 2, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(DECEMBER_2, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world(tree):
    world = november(tree)
    close_month(month=NOVEMBER)
    return world


def draft(customer):
    return Statement.objects.select_related("issuer", "customer").get(
        customer=customer, month=NOVEMBER.first_day
    )


def actor(user):
    return Actor(user=user, ip="198.51.100.4")


def test_finalising_numbers_freezes_and_hashes(tree, world):
    statement = finalise(statement=draft(tree.msp_a1), actor=actor(tree.dist_a_billing))
    assert statement.status == "final"
    assert statement.number == "ND-2026-11-0001"  # the initials of Northwind Distribution
    assert statement.finalised_by == tree.dist_a_billing
    assert statement.finalised_at is not None
    assert len(statement.content_sha256) == 64 and verify(statement)
    items = {i.key_id: i for i in StatementItem.objects.filter(statement=statement)}
    assert set(items) == {world.server.pk, world.desktop.pk, world.vm.pk, world.imagemanager.pk, world.gre.pk}
    server = items[world.server.pk]
    assert (server.msp_name, server.account_name, server.site_name, server.product_name) == (
        "Acme IT",
        "Alpha Dental",
        "Alpha Dental Main Street",
        "ShadowProtect for Managed Service Providers (SP-MSP)",
    )
    assert (server.active_days, server.billable, server.unit_minor, server.amount_minor, server.currency) == (
        30,
        True,
        2500,
        2500,
        "EUR",
    )
    desktop = items[world.desktop.pk]
    assert (desktop.active_days, desktop.billable, desktop.amount_minor) == (11, False, 0)
    assert (items[world.vm.pk].billable, items[world.vm.pk].amount_minor) == (True, None)
    assert items[world.imagemanager.pk].amount_minor == 5 * 150 + 2 * 75
    assert statement.totals == {"EUR": 7400}
    entry = AuditEntry.objects.get(action="statement.finalise")
    assert (entry.organisation, entry.object_repr, entry.actor_user) == (
        tree.msp_a1,
        "ND-2026-11-0001",
        tree.dist_a_billing,
    )


def test_numbers_are_gap_free_per_issuer_with_its_own_prefix(tree, world):
    tree.dist_a.statement_prefix = "nw"
    tree.dist_a.save(update_fields=["statement_prefix"])
    acme = finalise(statement=draft(tree.msp_a1), actor=actor(tree.dist_a_admin))
    bluebird = finalise(statement=draft(tree.msp_a2), actor=actor(tree.dist_a_admin))
    northwind = finalise(statement=draft(tree.dist_a), actor=Actor.system(Channel.WORKER))
    assert (acme.number, bluebird.number) == ("NW-2026-11-0001", "NW-2026-11-0002")
    assert northwind.number == "KV-2026-11-0001"  # the vendor's own sequence
    assert StatementCounter.objects.get(issuer=tree.dist_a).last_number == 2


def test_an_issuer_whose_prefix_another_uses_gets_its_id_appended(tree, world):
    tree.dist_b.statement_prefix = "ND"
    tree.dist_b.save(update_fields=["statement_prefix"])
    finalise(statement=draft(tree.msp_a1), actor=actor(tree.dist_a_admin))
    dingo = finalise(statement=draft(tree.msp_b1), actor=actor(tree.dist_b_admin))
    assert dingo.number == f"ND{tree.dist_b.pk}-2026-11-0001"


def test_finalising_twice_returns_the_same_statement(tree, world):
    first = finalise(statement=draft(tree.msp_a1), actor=actor(tree.dist_a_admin))
    again = finalise(statement=draft(tree.msp_a1), actor=actor(tree.dist_a_billing))
    assert (again.pk, again.number, again.content_sha256, again.finalised_by) == (
        first.pk,
        first.number,
        first.content_sha256,
        tree.dist_a_admin,
    )
    assert StatementCounter.objects.get(issuer=tree.dist_a).last_number == 1
    assert AuditEntry.objects.filter(action="statement.finalise").count() == 1


def test_a_month_that_has_not_ended_cannot_be_finalised(tree, world):
    statement = Statement.objects.create(
        issuer=tree.dist_a, customer=tree.msp_a1, month=Month(2026, 12).first_day
    )
    with pytest.raises(ValidationError, match="running month"):
        finalise(statement=statement, actor=actor(tree.dist_a_admin))
    statement.refresh_from_db()
    assert (statement.status, StatementCounter.objects.count()) == ("draft", 0)


def test_the_worker_finalises_drafts_past_their_grace_days(tree, world, settings, clock):
    settings.KEYLEDGER_STATEMENT_GRACE_DAYS = 3
    assert finalise_due(now=datetime(2026, 12, 3, 23, 59, tzinfo=UTC)) == []
    clock.move_to(datetime(2026, 12, 4, 0, 0, 1, tzinfo=UTC))
    done = finalise_due()
    assert len(done) == 5 and all(s.status == "final" for s in done)
    assert {s.finalised_by_label for s in done} == {"worker"}
    assert finalise_due() == []


def test_the_canonical_form_is_sorted_compact_json_and_hashes_to_the_stored_sha(tree, world):
    statement = finalise(statement=draft(tree.msp_a1), actor=actor(tree.dist_a_admin))
    text = canonical(statement)
    document = json.loads(text)
    assert text == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == statement.content_sha256 == content_sha256(statement)
    assert document["statement"]["number"] == "ND-2026-11-0001"
    assert document["statement"]["totals"] == {"EUR": "74.00"}
    assert [line["amount"] for line in document["lines"]] == ["25.00", None, "7.50", "1.50", "40.00"]
    assert len(document["items"]) == 5 and document["items"][0]["key_id"] < document["items"][1]["key_id"]


def test_the_csv_has_a_row_per_line_and_a_total_per_currency(tree, world):
    statement = finalise(statement=draft(tree.msp_a1), actor=actor(tree.dist_a_admin))
    rows = list(csv.reader(io.StringIO("".join(statement_csv(statement)))))
    assert rows[0] == CSV_HEADER
    assert rows[1] == [
        "ND-2026-11-0001",
        "2026-11",
        "Final",
        "1",
        "Charge",
        "ShadowProtect for Managed Service Providers (SP-MSP) \u2013 Server",
        "1",
        "25.00",
        "25.00",
        "EUR",
        "",
        "",
    ]
    assert rows[2][6:10] == ["1", "", "", "EUR"]  # the Virtual Machine key has no price
    assert rows[-1] == [
        "ND-2026-11-0001",
        "2026-11",
        "Final",
        "",
        "Total",
        "Total EUR",
        "",
        "",
        "74.00",
        "EUR",
        "",
        "",
    ]
    assert len(rows) == 1 + 5 + 1


def test_a_draft_csv_says_draft(tree, world):
    rows = list(csv.reader(io.StringIO("".join(statement_csv(draft(tree.msp_a2))))))
    assert rows[1][:3] == ["Draft", "2026-11", "Draft"]


def test_the_issuers_margin_is_its_sale_less_its_own_cost(tree, world):
    acme = draft(tree.msp_a1)
    result = margin(acme)
    # Acme pays 25.00 + 7.50 + 1.50 + 40.00; Northwind pays 18.00 + 5.00 + 1.00 + 30.00.
    assert (result.sale, result.cost, result.margin) == ({"EUR": 7400}, {"EUR": 5400}, {"EUR": 2000})
    final = finalise(statement=acme, actor=actor(tree.dist_a_admin))
    assert margin(final).margin == {"EUR": 2000}
    # The vendor pays nobody: no margin to show.
    assert margin(draft(tree.dist_a)) is None
