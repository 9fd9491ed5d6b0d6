import logging
import signal
import time
from types import FrameType

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from keyledger.keys.sweeper import BATCH, sweep

log = logging.getLogger("keyledger.worker")


class Command(BaseCommand):
    help = (
        "Run the background worker: keys silent past the critical threshold turn Critical "
        "(with alert emails); pending deactivations past the offline lease become final. "
        "Safe to run on several machines at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one sweep and exit.")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="Seconds between sweeps (default: 60)."
        )
        parser.add_argument(
            "--batch", type=int, default=BATCH, help=f"Keys per transaction (default: {BATCH})."
        )

    def handle(self, *args, once: bool, interval: float, batch: int, **options) -> None:
        self.stopping = False
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        while True:
            close_old_connections()
            result = sweep(batch=batch)
            if result.count or once:
                self.stdout.write(
                    f"{len(result.turned_critical)} key(s) turned Critical, "
                    f"{len(result.lease_expired)} deactivation(s) final at the end of the offline lease."
                )
            if once:
                return
            deadline = time.monotonic() + interval
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            if self.stopping:
                log.info("Worker stopped.")
                return

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
