import logging
import signal
import time
from types import FrameType

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from keyledger.billing.statements import schedule
from keyledger.keys.sweeper import BATCH, sweep
from keyledger.ops import metrics

log = logging.getLogger("keyledger.worker")


class Command(BaseCommand):
    help = (
        "Run the background worker: keys silent past the critical threshold turn Critical "
        "(with alert emails); pending deactivations past the offline lease become final; the "
        "months that ended get their draft statements, drafts follow late events, and drafts "
        "past their grace days become final. Safe to run on several machines at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one sweep (and billing step) and exit.")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="Seconds between sweeps (default: 60)."
        )
        parser.add_argument(
            "--batch", type=int, default=BATCH, help=f"Keys per transaction (default: {BATCH})."
        )

    stopping = False

    def handle(self, *args, once: bool, interval: float, batch: int, **options) -> None:
        if once:
            self._sweep(batch, quiet=False)
            self._bill(quiet=False)
            return
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self.stopping:
                try:
                    self._sweep(batch, quiet=True)
                except DatabaseError:
                    # A lost connection or a busy database is passing: each batch commits on
                    # its own, so the next sweep picks up where this one stopped.
                    log.exception("The sweep failed; trying again after the interval.")
                if self.stopping:
                    break
                try:
                    self._bill(quiet=True)
                except DatabaseError:
                    metrics.record_billing_run(finalised=0, failed=True)
                    # Each statement is closed or made final in its own transaction: the
                    # next loop takes up what this one left.
                    log.exception("The billing step failed; trying again after the interval.")
                # A long-running process: drop connections past CONN_MAX_AGE or broken meanwhile.
                close_old_connections()
                deadline = time.monotonic() + interval
                while not self.stopping and time.monotonic() < deadline:
                    time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("Worker stopped.")

    def _sweep(self, batch: int, *, quiet: bool) -> None:
        result = sweep(batch=batch, stop=lambda: self.stopping)
        metrics.record_sweep(len(result.turned_critical), len(result.lease_expired))
        if quiet and not (result.turned_critical or result.lease_expired):
            return  # a sweep a minute: only the ones that changed something are worth a line
        self.stdout.write(
            f"{len(result.turned_critical)} key(s) turned Critical, "
            f"{len(result.lease_expired)} deactivation(s) final at the end of the offline lease."
        )

    def _bill(self, *, quiet: bool) -> None:
        result = schedule.run()
        metrics.record_billing_run(finalised=len(result.finalised))
        if quiet and not result.changed:
            return
        closed = ", ".join(f"{c.month} ({c.drafts} draft(s))" for c in result.closed) or "none"
        self.stdout.write(
            f"Statements: months closed: {closed}; {result.refreshed} draft(s) brought up to date; "
            f"{len(result.finalised)} made final."
        )

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        # Finish the sweep under way, then leave: no batch is cut short.
        self.stopping = True
