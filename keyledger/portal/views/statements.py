"""The Statements tab: the statements an organisation issues and receives, each on a clean
printable page (the browser's Save as PDF gives the document), as a CSV file, and Finalise
for the issuer. A draft is brought up to date with late events when it is shown."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from keyledger.access import get_statement_for_user, require, require_issuer, statements_for_user
from keyledger.audit.actor import Actor
from keyledger.audit.naming import actor_name
from keyledger.billing import money
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements import csv_filename, finalise, fresh, margin
from keyledger.billing.statements import statement_csv as csv_lines
from keyledger.billing.statements.queries import filtered, lines_of, months_of
from keyledger.organisations.models import Organisation, User
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.statements import StatementFilterForm
from keyledger.portal.views.methods import only_methods

PAGE_SIZE = 50


@login_required
def statements(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.VIEW_REPORTS)
    if refusal := only_methods(request, "GET", "HEAD"):
        return refusal
    viewer = request.user.organisation
    visible = statements_for_user(request.user)
    form = StatementFilterForm(request.GET or None, months=months_of(visible), viewer=viewer)
    chosen = form.cleaned_data if form.is_valid() else {}
    rows = filtered(
        visible,
        viewer=viewer,
        month=chosen.get("month"),
        status=chosen.get("status"),
        direction=chosen.get("direction"),
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.totals_shown = [money.format_display(int(v), c) for c, v in sorted(row.totals.items())]
    return render(request, "portal/statements/list.html", {"form": form, "page": page, "viewer": viewer})


def billing_report_url(statement: Statement, viewer: Organisation) -> str | None:
    """The Billing Detail Report of the statement's month for its customer's keys."""
    try:
        url = reverse("portal:reports_billing")
    except NoReverseMatch:
        return None  # the Reports tab is not installed
    query = {"month": str(Month.of(statement.month))}
    customer = statement.customer
    if customer.kind == Organisation.Kind.MSP:
        query["msp"] = str(customer.pk)
    elif customer.pk != viewer.pk:
        query["distributor"] = str(customer.pk)
    return f"{url}?{urlencode(query)}"


def may_finalise(user: User, statement: Statement) -> bool:
    return (
        not statement.is_final
        and user.organisation.pk == statement.issuer_id
        and user.can(Permission.FINALISE_STATEMENTS)
        and Month.of(statement.month).end <= timezone.now()
    )


@login_required
def statement(request: HttpRequest, statement_id: int) -> HttpResponse:
    require(request.user, Permission.VIEW_REPORTS)
    found = get_statement_for_user(request.user, statement_id)
    if refusal := only_methods(request, "GET", "HEAD"):
        return refusal
    found = fresh(found)
    viewer = request.user.organisation
    issuer_view = viewer.pk == found.issuer_id
    lines = list(lines_of(found))
    for line in lines:
        line.unit_shown = money.format_display(line.unit_minor, line.currency)
        line.amount_shown = money.format_display(line.amount_minor, line.currency)
    context = {
        "statement": found,
        "month": Month.of(found.month),
        "lines": lines,
        "totals": [(c, money.format_display(int(v), c)) for c, v in sorted(found.totals.items())],
        "margin": _margin(found) if issuer_view else None,
        "issuer_view": issuer_view,
        "may_finalise": may_finalise(request.user, found),
        "finalised_by": actor_name(
            actor_user=found.finalised_by, label=found.finalised_by_label, viewer=viewer
        ),
        "report_url": billing_report_url(found, viewer),
    }
    return render(request, "portal/statements/detail.html", context)


def _margin(found: Statement) -> dict | None:
    """The issuer's cost and margin, ready to show."""
    result = margin(found)
    if result is None:
        return None
    rows = [
        {
            "currency": row.currency,
            "sale": row.shown(row.sale),
            "cost": row.shown(row.cost),
            "margin": row.shown(row.margin),
        }
        for row in result.rows
    ]
    return {"rows_shown": rows, "cost_unpriced": result.cost_unpriced}


@login_required
def statement_csv(request: HttpRequest, statement_id: int) -> HttpResponse:
    require(request.user, Permission.VIEW_REPORTS)
    found = get_statement_for_user(request.user, statement_id)
    if refusal := only_methods(request, "GET", "HEAD"):
        return refusal
    found = fresh(found)
    response = StreamingHttpResponse(
        (line.encode() for line in csv_lines(found)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(found)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def statement_finalise(request: HttpRequest, statement_id: int) -> HttpResponse:
    found = get_statement_for_user(request.user, statement_id)
    require_issuer(request.user, issuer_id=found.issuer_id, permission=Permission.FINALISE_STATEMENTS)
    if refusal := only_methods(request, "GET", "HEAD", "POST"):
        return refusal
    if found.is_final:
        messages.info(request, f"Statement {found.number} is final already.")
        return redirect("portal:statement", statement_id=found.pk)
    if request.method != "POST":
        context = {
            "statement": found,
            "month": Month.of(found.month),
            "ended": may_finalise(request.user, found),
        }
        return render(request, "portal/statements/finalise.html", context)
    try:
        done = finalise(statement=found, actor=Actor.from_request(request))
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Statement {done.number} is final. It will never change.")
    return redirect("portal:statement", statement_id=found.pk)
