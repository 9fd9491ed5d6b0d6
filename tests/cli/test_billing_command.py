"""`keyledger billing finalise YYYY-MM [--dry-run]` and `keyledger billing recompute YYYY-MM`."""

from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from keyledger.audit.models import AuditEntry
from keyledger.billing.models import Statement
from keyledger.testing.billing import NOVEMBER, november


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 12, 2, 10, tzinfo=UTC), tick=True) as traveller:
        yield traveller


def billing(*args: str) -> str:
    out = StringIO()
    call_command("billing", *args, stdout=out)
    return out.getvalue()


def test_recompute_writes_the_drafts_of_a_month(tree):
    november(tree)
    out = billing("recompute", "2026-11")
    assert "Closing November 2026 [" in out  # the progress bar (one line per tenth off a terminal)
    assert "November 2026: 5 draft statement(s) up to date (5 new), 0 already final." in out
    assert set(Statement.objects.values_list("status", flat=True)) == {"draft"}
    again = billing("recompute", "2026-11")
    assert "5 draft statement(s) up to date (0 new)" in again


def test_a_dry_run_lists_what_would_be_final_and_writes_nothing(tree):
    november(tree)
    out = billing("finalise", "2026-11", "--dry-run")
    assert "Would finalise: Northwind Distribution → Acme IT: 5 key(s), 4 billable, 74.00 EUR" in out
    assert "Would finalise: Keyledger Vendor → Southgate Supply: 1 key(s), 1 billable, no amounts" in out
    assert "Dry run: 5 statement(s) of November 2026 would be made final (0 already final)." in out
    assert not Statement.objects.exists()
    assert not AuditEntry.objects.filter(action="statement.finalise").exists()


def test_finalise_closes_the_month_and_makes_every_draft_final(tree):
    november(tree)
    out = billing("finalise", "2026-11")
    assert "Finalising November 2026 [" in out
    assert "ND-2026-11-0001  Northwind Distribution → Acme IT: 4 billable key(s), 74.00 EUR" in out
    assert "Finalised 5 statement(s) of November 2026." in out
    assert set(Statement.objects.values_list("status", flat=True)) == {"final"}
    assert set(AuditEntry.objects.filter(action="statement.finalise").values_list("channel", flat=True)) == {
        "cli"
    }
    # Again: nothing is left to finalise, and nothing final is touched.
    hashes = dict(Statement.objects.values_list("pk", "content_sha256"))
    again = billing("finalise", "2026-11")
    assert "Finalised 0 statement(s) of November 2026." in again
    assert dict(Statement.objects.values_list("pk", "content_sha256")) == hashes
    dry = billing("finalise", NOVEMBER.__str__(), "--dry-run")
    assert "Dry run: 0 statement(s) of November 2026 would be made final (5 already final)." in dry


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-12", "2026-12 is the running month: only a month that has ended has statements."),
        ("2027-03", "2027-03 is in the future"),
        ("2026-13", "Not a month: '2026-13'."),
        ("November", "Not a month: 'November'. Enter a month as YYYY-MM, e.g. 2026-11."),
        ("2026-1", "Enter a month as YYYY-MM"),
    ],
)
@pytest.mark.parametrize("action", [["finalise"], ["finalise", "--dry-run"], ["recompute"]])
def test_a_month_that_has_not_ended_or_is_no_month_is_refused(tree, month, message, action):
    with pytest.raises(CommandError) as refused:
        billing(action[0], month, *action[1:])
    assert message in str(refused.value)
    assert not Statement.objects.exists()
