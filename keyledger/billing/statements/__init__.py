"""Statements (SPEC §8; the seed's invoices): what each organisation's parent bills it for a
month. After the month ends a draft follows late events; it becomes final when its issuer
finalises it or KEYLEDGER_STATEMENT_GRACE_DAYS after the month's end, and never changes
after that (a correction goes on a later statement).

- compute: month close (close_month) and drafts (refresh_draft);
- stale: which drafts are behind late events or new prices (refresh_stale_drafts);
- finalise: finalise, finalise_due; numbering: the numbers;
- content: the canonical content, its SHA-256 (verify) and the CSV file;
- corrections: lines that correct earlier final statements;
- queries: lists, lines, and the issuer's margin; schedule: the worker's step.
"""

from keyledger.billing.statements.compute import CloseResult, MonthNotEnded, close_month, refresh_draft
from keyledger.billing.statements.content import (
    canonical,
    content_sha256,
    csv_filename,
    statement_csv,
    verify,
)
from keyledger.billing.statements.finalise import finalise, finalise_due
from keyledger.billing.statements.queries import Margin, margin
from keyledger.billing.statements.stale import fresh, is_stale, refresh_stale_drafts

__all__ = [
    "CloseResult",
    "Margin",
    "MonthNotEnded",
    "canonical",
    "close_month",
    "content_sha256",
    "csv_filename",
    "finalise",
    "finalise_due",
    "fresh",
    "is_stale",
    "margin",
    "refresh_draft",
    "refresh_stale_drafts",
    "statement_csv",
    "verify",
]
