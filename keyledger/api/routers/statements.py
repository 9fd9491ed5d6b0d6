"""Statements: list, get (JSON, or the CSV file with `Accept: text/csv` or `?format=csv`),
Finalise. A draft is brought up to date with late events when it is read."""

from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router
from ninja.pagination import paginate

from keyledger.access import get_statement_for_user, require, require_issuer, statements_for_user
from keyledger.api.auth import actor, principal, token_auth
from keyledger.api.errors import ERRORS, READ_ERRORS
from keyledger.api.pagination import Pagination
from keyledger.api.schemas.common import PathId
from keyledger.api.schemas.statements import FormatQuery, StatementDetailOut, StatementFilter, StatementOut
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements import csv_filename, finalise, fresh, statement_csv
from keyledger.billing.statements.queries import ISSUED, RECEIVED, filtered
from keyledger.organisations.roles import Permission

router = Router(tags=["Statements"], auth=token_auth)

DETAIL_RESPONSES = {
    "200": {
        "description": "The statement with its lines and totals; as CSV with `Accept: text/csv` or `?format=csv`",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/StatementDetailOut"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def _wants_csv(request: HttpRequest, query: FormatQuery) -> bool:
    if query.format is not None:
        return query.format == "csv"
    return "text/csv" in request.headers.get("Accept", "")


@router.get("/statements", response={200: list[StatementOut], **READ_ERRORS}, summary="List statements")
@paginate(Pagination)
def list_statements(request: HttpRequest, filters: Query[StatementFilter]) -> QuerySet[Statement]:
    """The statements the token's organisation issues and receives, and those issued below it;
    newest month first."""
    who = principal(request)
    require(who, Permission.VIEW_REPORTS)
    direction = {"by_you": ISSUED, "to_you": RECEIVED}.get(filters.issued or "")
    return filtered(
        statements_for_user(who),
        viewer=who.organisation,
        month=Month.parse(filters.month) if filters.month else None,
        status=filters.status,
        direction=direction,
    )


@router.get(
    "/statements/{statement_id}",
    response={200: StatementDetailOut, **READ_ERRORS},
    summary="Get a statement",
    openapi_extra={"responses": DETAIL_RESPONSES},
)
def get_statement(request: HttpRequest, statement_id: PathId, query: Query[FormatQuery]):
    """Its lines (charges per edition, job license type or key; corrections of earlier final
    statements), totals per currency and, for its issuer, the issuer's own cost and margin."""
    who = principal(request)
    require(who, Permission.VIEW_REPORTS)
    statement = fresh(get_statement_for_user(who, statement_id))
    if _wants_csv(request, query):
        response = StreamingHttpResponse(
            (line.encode() for line in statement_csv(statement)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{csv_filename(statement)}"'
        return response
    return statement


@router.post(
    "/statements/{statement_id}/finalise", response={200: StatementDetailOut, **ERRORS}, summary="Finalise"
)
def finalise_statement(request: HttpRequest, statement_id: PathId) -> Statement:
    """Make a draft final: it gets its number and never changes again. Only its issuer may
    (a read-write token of the issuing organisation); its month must have ended (409
    month_not_ended). Finalising a final statement returns it as it is."""
    who = principal(request)
    statement = get_statement_for_user(who, statement_id)
    require_issuer(who, issuer_id=statement.issuer_id, permission=Permission.FINALISE_STATEMENTS)
    return finalise(statement=statement, actor=actor(request))
