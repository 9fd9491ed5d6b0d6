"""Statement numbers: `{prefix}-{YYYY}-{MM}-{seq:04d}`, e.g. NW-2026-11-0007.

The prefix is the issuer's `statement_prefix`, or the initials of its name; when another
issuer already numbers its statements with the same prefix, the issuer's id is appended
(ND, then ND12), so two issuers never share a number. `seq` counts the issuer's final
statements, gap-free: it is taken from StatementCounter under a row lock in the
transaction that makes the statement final, so a finalisation that rolls back gives its
number back and two at once take two numbers in turn.
"""

from __future__ import annotations

import re

from keyledger.billing.models import Statement, StatementCounter
from keyledger.billing.months import Month
from keyledger.organisations.models import Organisation

NOT_PREFIX = re.compile(r"[^A-Z0-9]")
MAX_PREFIX = 8


def initials(name: str) -> str:
    letters = [word[0] for word in re.split(r"[\s\-_/&.,]+", name or "") if word and word[0].isascii()]
    return NOT_PREFIX.sub("", "".join(letters).upper())[:MAX_PREFIX]


def base_prefix(issuer: Organisation) -> str:
    chosen = NOT_PREFIX.sub("", (issuer.statement_prefix or "").upper())[:MAX_PREFIX]
    return chosen or initials(issuer.name) or "S"


def prefix_for(issuer: Organisation) -> str:
    base = base_prefix(issuer)
    shared = Statement.objects.filter(number__startswith=f"{base}-").exclude(issuer_id=issuer.pk).exists()
    return f"{base}{issuer.pk}" if shared else base


def next_sequence(issuer_id: int) -> int:
    """The issuer's next number; call inside the transaction that uses it."""
    # Race-safe creation: INSERT … ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite).
    StatementCounter.objects.bulk_create([StatementCounter(issuer_id=issuer_id)], ignore_conflicts=True)
    counter = StatementCounter.objects.select_for_update().get(issuer_id=issuer_id)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def take_number(issuer: Organisation, month: Month) -> str:
    sequence = next_sequence(issuer.pk)
    return f"{prefix_for(issuer)}-{month.year:04d}-{month.month:02d}-{sequence:04d}"
