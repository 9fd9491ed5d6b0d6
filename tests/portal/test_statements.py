"""The Statements tab: the list and its filters, the printable statement page (draft marked
provisional, lines, totals, number, hash, the issuer's margin), Finalise, and the CSV file."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyledger.audit.actor import Actor
from keyledger.billing.models import Statement
from keyledger.billing.statements import close_month, verify
from keyledger.keys.sweeper import sweep
from keyledger.organisations.models import Organisation
from keyledger.testing.billing import LAST_CALL, NOVEMBER, OCTOBER_FIRST, active_key, lapsing_key, november
from keyledger.testing.tree import make_org


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 12, 2, 10, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def closed(tree):
    world = november(tree)
    close_month(month=NOVEMBER)
    return world


def of(customer):
    return Statement.objects.get(customer=customer, month=NOVEMBER.first_day)


def page(client, url, **query):
    response = client.get(url, query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_a_distributor_lists_what_it_issues_and_what_it_is_billed(tree, closed, client_for):
    client = client_for(tree.dist_a_admin)
    body = page(client, reverse("portal:statements"))
    for name in ("Acme IT", "Bluebird Managed", "Keyledger Vendor", "74.00 EUR", "26.00 EUR", "72.00 EUR"):
        assert name in body
    assert "Southgate Supply" not in body and "Dingo Networks" not in body
    assert "Draft (provisional)" in body
    issued = page(client, reverse("portal:statements"), direction="issued")
    assert "Acme IT" in issued and "72.00 EUR" not in issued
    received = page(client, reverse("portal:statements"), direction="received")
    assert "72.00 EUR" in received and "Bluebird Managed" not in received


def test_an_msp_lists_only_its_own(tree, closed, client_for):
    body = page(client_for(tree.msp_a1_admin), reverse("portal:statements"))
    assert "Acme IT" in body and "74.00 EUR" in body
    assert "Bluebird Managed" not in body and "72.00 EUR" not in body


def test_the_list_filters_by_month_and_status(tree, closed, client_for, clock):
    client = client_for(tree.dist_a_admin)
    assert "No statements match these filters" in page(client, reverse("portal:statements"), status="final")
    assert "Acme IT" in page(client, reverse("portal:statements"), month="2026-11", status="draft")
    bad = page(client, reverse("portal:statements"), month="2026-13", status="paid")
    assert "Select a valid choice" in bad and "Acme IT" in bad  # a field error; the list shows all


def test_the_list_takes_as_many_queries_for_many_statements_as_for_few(tree, client_for):
    active_key(tree.account_a1, OCTOBER_FIRST)
    close_month(month=NOVEMBER)
    client = client_for(tree.dist_a_admin)
    url = reverse("portal:statements")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(12):
        msp = make_org(parent=tree.dist_a, kind=Organisation.Kind.MSP, name=f"MSP {n}")
        active_key(msp.accounts.create(name=f"Account {n}"), OCTOBER_FIRST)
    close_month(month=NOVEMBER)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert Statement.objects.count() == 14
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_draft_is_shown_provisional_with_lines_totals_and_the_issuers_margin(tree, closed, client_for):
    url = reverse("portal:statement", kwargs={"statement_id": of(tree.msp_a1).pk})
    body = page(client_for(tree.dist_a_billing), url)
    assert "Draft statement" in body and "Provisional." in body
    for text in ("Issued by</dt><dd>Northwind Distribution", "Issued to</dt><dd>Acme IT", "November 2026"):
        assert text in body
    assert "ShadowStream job licenses" in body and "7.50 EUR" in body and "1.50 EUR" in body
    assert "Total EUR" in body and "74.00 EUR" in body
    assert "No price" in body  # the Virtual Machine key
    assert "Your cost and margin" in body and "54.00 EUR" in body and "20.00 EUR" in body
    assert reverse("portal:statement_finalise", kwargs={"statement_id": of(tree.msp_a1).pk}) in body
    assert f"{reverse('portal:reports_billing')}?month=2026-11&amp;msp={tree.msp_a1.pk}" in body
    assert "Download as CSV file" in body


def test_the_customer_sees_neither_the_margin_nor_finalise(tree, closed, client_for):
    statement = of(tree.msp_a1)
    body = page(
        client_for(tree.msp_a1_admin), reverse("portal:statement", kwargs={"statement_id": statement.pk})
    )
    assert "74.00 EUR" in body
    assert "Your cost" not in body and "54.00" not in body
    assert reverse("portal:statement_finalise", kwargs={"statement_id": statement.pk}) not in body
    # The vendor sees the statement (its subtree) but is not its issuer.
    vendor = page(
        client_for(tree.vendor_admin), reverse("portal:statement", kwargs={"statement_id": statement.pk})
    )
    assert "74.00 EUR" in vendor and "Your cost" not in vendor


def test_a_stale_draft_is_brought_up_to_date_when_shown(tree, client_for, clock):
    november(tree)
    lapsing_key(tree.account_a1, last_call=LAST_CALL, actor=Actor(user=tree.msp_a1_admin))
    close_month(month=NOVEMBER)
    assert of(tree.msp_a1).billable_count == 5
    clock.shift(timedelta(hours=1))
    sweep()
    page(
        client_for(tree.msp_a1_admin),
        reverse("portal:statement", kwargs={"statement_id": of(tree.msp_a1).pk}),
    )
    assert of(tree.msp_a1).billable_count == 4


def test_the_issuer_finalises_after_a_confirmation(tree, closed, client_for):
    statement = of(tree.msp_a1)
    client = client_for(tree.dist_a_billing)
    url = reverse("portal:statement_finalise", kwargs={"statement_id": statement.pk})
    confirm = page(client, url)
    assert "Finalise the statement of Acme IT for November 2026?" in confirm and 'method="post"' in confirm
    assert of(tree.msp_a1).status == "draft"  # showing the confirmation changes nothing
    response = client.post(url, follow=True)
    body = response.content.decode()
    final = of(tree.msp_a1)
    assert final.status == "final" and verify(final)
    assert "Statement ND-2026-11-0001 is final." in body
    assert "Statement ND-2026-11-0001" in body and final.content_sha256 in body
    assert "Provisional" not in body and "by dist-a-billing@example.test" in body
    # Again: it is final already; nothing changes.
    again = client.post(url, follow=True).content.decode()
    assert "is final already" in again and of(tree.msp_a1).content_sha256 == final.content_sha256
    # The customer sees who finalised it by organisation only.
    customer = page(
        client_for(tree.msp_a1_admin), reverse("portal:statement", kwargs={"statement_id": final.pk})
    )
    assert "by Northwind Distribution" in customer and "dist-a-billing@" not in customer


@pytest.mark.parametrize("user", ["dist_a_member", "dist_a_readonly", "msp_a1_admin", "vendor_admin"])
def test_only_the_issuer_with_the_permission_may_finalise(tree, closed, client_for, user):
    url = reverse("portal:statement_finalise", kwargs={"statement_id": of(tree.msp_a1).pk})
    client = client_for(getattr(tree, user))
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert of(tree.msp_a1).status == "draft"


def test_the_statement_downloads_as_a_csv_file(tree, closed, client_for):
    statement = of(tree.msp_a1)
    response = client_for(tree.msp_a1_admin).get(
        reverse("portal:statement_csv", kwargs={"statement_id": statement.pk})
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="statement-draft-2026-11-{tree.msp_a1.pk}.csv"'
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Statement", "Month", "Status"]
    assert rows[-1][4:10] == ["Total", "Total EUR", "", "", "74.00", "EUR"]


def test_other_methods_are_refused(tree, closed, client_for):
    client = client_for(tree.dist_a_admin)
    statement = of(tree.msp_a1)
    for name in ("portal:statement", "portal:statement_csv"):
        assert client.post(reverse(name, kwargs={"statement_id": statement.pk})).status_code == 405
    assert client.post(reverse("portal:statements")).status_code == 405
