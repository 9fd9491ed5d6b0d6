"""`keyledger report billing --month YYYY-MM` and `keyledger report activation --start …
--end …`: the portal's reports for scripts and cron, as a table on the terminal or, with
--csv FILE, the very bytes of the portal's Download as CSV file.

The command sees what vendor staff see (the whole tree) and prices on what each MSP is
charged; --msp narrows it to one MSP, by its exact name or its id. Days and months are
those of KEYLEDGER_BILLING_TIME_ZONE, as in the portal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from keyledger.billing import money
from keyledger.billing.engine import running_month
from keyledger.billing.pricing import BASIS_MSP
from keyledger.keys.models import Product
from keyledger.organisations.models import Organisation
from keyledger.organisations.queries import vendor_organisation
from keyledger.reports import activation, billing_detail, inputs
from keyledger.reports import csv as report_csv
from keyledger.reports.scope import ReportScope
from keyledger.reports.table import Table

# Rows read to size the terminal table's columns; longer values later just run over.
SIZING_ROWS = 500


def find_msp(value: str) -> Organisation:
    """The MSP named exactly `value`, or whose id it is; a clear error when none or several are."""
    text = value.strip()
    candidates = list(
        Organisation.objects.filter(kind=Organisation.Kind.MSP, name=text).select_related("parent")
    )
    if text.isascii() and text.isdigit() and len(text) < 19:
        by_id = Organisation.objects.filter(kind=Organisation.Kind.MSP, pk=int(text)).select_related("parent")
        candidates += [m for m in by_id if m not in candidates]
    if not candidates:
        raise CommandError(f"No MSP is named {text!r} or has that id.")
    if len(candidates) > 1:
        listed = "\n".join(
            f"  {m.pk}: {m.name} ({m.parent.name if m.parent else 'no distributor'})"
            for m in sorted(candidates, key=lambda m: m.pk)
        )
        raise CommandError(f"{len(candidates)} MSPs match {text!r}; give one of their ids:\n{listed}")
    return candidates[0]


def table_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A plain-text table, sized by the first rows so that any number of rows streams."""
    rows = (["" if cell is None else str(cell) for cell in row] for row in rows)
    first = list(islice(rows, SIZING_ROWS))
    widths = [max([len(h)] + [len(r[i]) for r in first]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    yield line(header)
    yield line(["-" * w for w in widths])
    for row in first:
        yield line(row)
    for row in rows:
        yield line(row)


class Command(BaseCommand):
    help = (
        "The Billing Detail Report of a month or the Activation Report of a range of days, as a "
        "table or, with --csv FILE, the portal's CSV file: `report billing --month YYYY-MM`, "
        "`report activation --start YYYY-MM-DD --end YYYY-MM-DD [--product CODE …]`; --msp NAME_OR_ID."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        reports = parser.add_subparsers(dest="report", required=True, metavar="{billing,activation}")
        billing = reports.add_parser("billing", help="The Billing Detail Report of a month.")
        billing.add_argument("--month", required=True, help="The month, as YYYY-MM (e.g. 2026-11).")
        days = reports.add_parser("activation", help="The Activation Report of a range of days.")
        days.add_argument("--start", required=True, help="Start Date, YYYY-MM-DD.")
        days.add_argument("--end", required=True, help="End Date (included), YYYY-MM-DD.")
        days.add_argument(
            "--product", nargs="+", default=[], metavar="CODE", help="Products to include (default: all)."
        )
        for sub in (billing, days):
            sub.add_argument("--msp", metavar="NAME_OR_ID", help="One MSP, by its exact name or its id.")
            sub.add_argument(
                "--csv",
                metavar="FILE",
                help="Write the CSV file (as the portal's) to FILE; - for standard output.",
            )

    def handle(self, *args: Any, report: str, msp: str | None, csv: str | None, **options: Any) -> None:
        try:
            vendor = vendor_organisation()
        except Organisation.DoesNotExist:
            raise CommandError(
                "There is no vendor yet: create it with `keyledger createvendor NAME`."
            ) from None
        scope = ReportScope(viewer=vendor, msp=find_msp(msp) if msp else None, basis=BASIS_MSP)
        now = timezone.now()
        catalog = list(Product.objects.order_by("sort_order", "name", "pk"))
        try:
            if report == "billing":
                table: Table = billing_detail.BillingDetailReport(
                    scope=scope,
                    month=inputs.parse_month(options["month"], running=running_month(now)),
                    products=catalog,
                    sort=billing_detail.sort_for(""),
                    now=now,
                )
            else:
                start = inputs.parse_date(options["start"], "start")
                end = inputs.parse_date(options["end"], "end")
                inputs.check_days(start, end, at_most_a_year=False)
                table = activation.ActivationReport(
                    scope=scope,
                    days=activation.Days(start, end),
                    products=catalog,
                    product_ids=inputs.product_ids(options["product"], catalog),
                    sort=activation.sort_for(""),
                    now=now,
                )
        except ValidationError as exc:
            raise CommandError(self._words(exc)) from None
        try:
            if csv:
                self._write_csv(table, csv)
            else:
                self._show(table, scope)
        except BrokenPipeError:
            # The reader went away (`keyledger report … | head`): stop quietly, as other
            # commands do, without a traceback for the rest that was not wanted.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)

    def _words(self, exc: ValidationError) -> str:
        flags = {"month": "--month", "start": "--start", "end": "--end", "product": "--product"}
        return "; ".join(f"{flags.get(f, f)}: {' '.join(m)}" for f, m in exc.message_dict.items())

    def _write_csv(self, table: Table, target: str) -> None:
        if target == "-":
            report_csv.write(sys.stdout.buffer, table.header, table.csv_rows())
            sys.stdout.buffer.flush()
            return
        rows = 0

        def counted() -> Iterator[list[str]]:
            nonlocal rows
            for row in table.csv_rows():
                rows += 1
                yield row

        try:
            with open(target, "wb") as file:
                report_csv.write(file, table.header, counted())
        except OSError as exc:
            raise CommandError(f"Cannot write {target}: {exc.strerror or exc}") from None
        self.stdout.write(f"Wrote {rows} row{'s' if rows != 1 else ''} to {target}.")

    def _show(self, table: Table, scope: ReportScope) -> None:
        who = scope.msp.name if scope.msp else "All MSPs"
        zone = settings.KEYLEDGER_BILLING_TIME_ZONE
        if isinstance(table, billing_detail.BillingDetailReport):
            totals = table.totals()
            amounts = ", ".join(money.format_display(m, c) for c, m in totals.by_currency()) or "no amounts"
            self.stdout.write(
                f"Billing Detail Report · {who} · {table.month.label} ({table.status(totals)}) · "
                f"billing time zone {zone}"
            )
            summary = f"{totals.keys} keys, {totals.billable} billable; {amounts}"
            if totals.unpriced:
                summary += f"; {totals.unpriced} billable without a price"
        else:
            assert isinstance(table, activation.ActivationReport)
            self.stdout.write(
                f"Activation Report · {who} · {table.days.first} to {table.days.last} · billing time zone {zone}"
            )
            summary = ""
        self.stdout.write("")
        count = -2
        for text in table_lines(table.header, table.csv_rows()):
            self.stdout.write(text)
            count += 1
        self.stdout.write("")
        self.stdout.write(f"{count} row{'s' if count != 1 else ''}" + (f". {summary}." if summary else "."))
