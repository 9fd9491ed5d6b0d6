"""`keyledger billing finalise YYYY-MM [--dry-run]` and `keyledger billing recompute YYYY-MM`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db.models import QuerySet
from django.utils import timezone

from keyledger.audit.actor import Actor, Channel
from keyledger.billing import money
from keyledger.billing.models import Statement
from keyledger.billing.months import Month
from keyledger.billing.statements import MonthNotEnded, close_month, finalise
from keyledger.billing.statements.aggregate import Catalog
from keyledger.billing.statements.compute import compute_month, require_ended
from keyledger.billing.statements.orgs import OrgIndex
from keyledger.demo.progress import Progress
from keyledger.organisations.models import Organisation

Status = Statement.Status


class _Stream:
    """The command's output as a plain stream: the progress bar redraws its own line."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()


def totals_text(totals: dict[str, int]) -> str:
    return ", ".join(money.format_display(int(v), c) for c, v in sorted(totals.items())) or "no amounts"


class Command(BaseCommand):
    help = (
        "Statements of a month that has ended: `finalise YYYY-MM [--dry-run]` closes the month if "
        "needed and makes every draft of it final; `recompute YYYY-MM` brings its drafts up to date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{finalise,recompute}")
        final = actions.add_parser(
            "finalise", help="Close the month if needed and make every draft of it final."
        )
        final.add_argument("month", help="The month, as YYYY-MM (e.g. 2026-11).")
        final.add_argument(
            "--dry-run",
            action="store_true",
            help="List the statements that would be made final; write nothing.",
        )
        again = actions.add_parser(
            "recompute", help="Bring the month's draft statements up to date (drafts only)."
        )
        again.add_argument("month", help="The month, as YYYY-MM (e.g. 2026-11).")

    def handle(self, *args: Any, action: str, month: str, dry_run: bool = False, **options: Any) -> None:
        parsed = self._month(month)
        if action == "recompute":
            self._recompute(parsed)
        elif dry_run:
            self._dry_run(parsed)
        else:
            self._finalise(parsed)

    def _month(self, text: str) -> Month:
        try:
            month = Month.parse(text)
            require_ended(month, timezone.now())
        except MonthNotEnded as exc:
            raise CommandError(f"{exc} Wait until it has ended.") from None
        except ValueError as exc:
            raise CommandError(f"Not a month: {text!r}. {exc}") from None
        return month

    def _bar(self, label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
        bars: list[Progress] = []

        def update(done: int, total: int) -> None:
            if not bars:
                bars.append(Progress(label, total, stream=_Stream(self.stdout)))
            bars[0].update(done)

        return update, lambda: bars[0].finish() if bars else None

    def _close(self, month: Month) -> None:
        update, finish = self._bar(f"Closing {month.label}")
        result = close_month(month=month, progress=update)
        finish()
        self.stdout.write(
            f"{month.label}: {result.drafts} draft statement(s) up to date ({result.created} new), "
            f"{result.final} already final."
        )

    def _recompute(self, month: Month) -> None:
        self._close(month)

    def _drafts(self, month: Month) -> QuerySet[Statement]:
        return (
            Statement.objects.filter(month=month.first_day, status=Status.DRAFT)
            .select_related("issuer", "customer")
            .order_by("issuer__name", "customer__name", "pk")
        )

    def _finalise(self, month: Month) -> None:
        self._close(month)
        drafts = list(self._drafts(month))
        actor = Actor.system(Channel.CLI)
        bar = Progress(f"Finalising {month.label}", len(drafts), stream=_Stream(self.stdout))
        done = []
        for n, draft in enumerate(drafts, start=1):
            done.append(finalise(statement=draft, actor=actor))
            bar.update(n)
        bar.finish()
        for statement in done:
            self.stdout.write(
                f"{statement.number}  {statement.issuer.name} → {statement.customer.name}: "
                f"{statement.billable_count} billable key(s), {totals_text(statement.totals)}"
            )
        self.stdout.write(self.style.SUCCESS(f"Finalised {len(done)} statement(s) of {month.label}."))

    def _dry_run(self, month: Month) -> None:
        orgs = OrgIndex.load()
        contents = compute_month(month, orgs=orgs, catalog=Catalog.load())
        statuses = dict(Statement.objects.filter(month=month.first_day).values_list("customer_id", "status"))
        customers = sorted(
            (set(contents) | {c for c, s in statuses.items() if s == Status.DRAFT})
            - {c for c, s in statuses.items() if s == Status.FINAL}
        )
        names = dict(
            Organisation.objects.filter(pk__in={*customers, *map(orgs.issuer, customers)}).values_list(
                "pk", "name"
            )
        )
        for customer in customers:
            content = contents.get(customer)
            keys, billable = (content.key_count, content.billable_count) if content else (0, 0)
            self.stdout.write(
                f"Would finalise: {names.get(orgs.issuer(customer), '?')} → {names.get(customer, '?')}: "
                f"{keys} key(s), {billable} billable, {totals_text(content.totals if content else {})}"
            )
        final = sum(1 for s in statuses.values() if s == Status.FINAL)
        self.stdout.write(
            f"Dry run: {len(customers)} statement(s) of {month.label} would be made final "
            f"({final} already final). Nothing was written."
        )
