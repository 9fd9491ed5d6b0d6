import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from keyledger.env import env_int
from keyledger.ops import server


class Command(BaseCommand):
    help = (
        "Run the production web server (granian, WSGI): PROCESSES processes of THREADS threads "
        "each. On PostgreSQL each process keeps a pool of at most --pool-size connections "
        "(default: its threads), so the server never opens more than processes x pool-size; "
        "serve refuses to start when PostgreSQL has fewer free. More than one process needs "
        "REDIS_URL, so the rate limits hold across processes. Static files are served by "
        "granian from STATIC_ROOT (collected on start when missing). SIGTERM or Ctrl-C: no new "
        "requests, the ones under way finish (up to --grace seconds), then it exits. For "
        "development use `keyledger runserver`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "address",
            nargs="?",
            default=os.environ.get("KEYLEDGER_LISTEN", "127.0.0.1:8000"),
            metavar="ADDRESS:PORT",
            help="Where to listen (default: KEYLEDGER_LISTEN or 127.0.0.1:8000; 0.0.0.0:8000 for all).",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Web processes (default: KEYLEDGER_WEB_PROCESSES, else the number of CPUs on "
            "PostgreSQL with REDIS_URL, else 1).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="Threads per process, the requests each answers at once (default: "
            "KEYLEDGER_WEB_THREADS or 4).",
        )
        parser.add_argument(
            "--pool-size",
            type=int,
            default=None,
            help="PostgreSQL: connections each process may hold (default: DATABASE_POOL_SIZE or "
            "--threads). Below --threads, threads take turns with the connections.",
        )
        parser.add_argument(
            "--grace",
            type=int,
            default=None,
            help="Seconds requests under way get to finish after SIGTERM (default: "
            "KEYLEDGER_SHUTDOWN_GRACE_SECONDS or 30).",
        )
        parser.add_argument(
            "--print-command",
            action="store_true",
            help="Print the server's command line and exit without starting it.",
        )

    def handle(self, *args, address: str, print_command: bool, **options) -> None:
        try:
            plan = self._plan(address, **options)
            server.check_plan(plan)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        command = server.granian_command(plan)
        if print_command:
            self.stdout.write(" ".join(command))
            return
        env = server.environment(plan)
        db = f"PostgreSQL, at most {plan.connections} connections" if plan.pool_size else "SQLite"
        self.stdout.write(
            f"Keyledger on http://{plan.host}:{plan.port}: {plan.processes} process(es) x "
            f"{plan.threads} thread(s), {db}.",
        )
        self.stdout.flush()
        # granian takes this process's place: signals from a supervisor reach it directly.
        os.execve(command[0], command, env)  # noqa: S606 (our own interpreter, fixed arguments)

    def _plan(
        self,
        address: str,
        *,
        processes: int | None,
        threads: int | None,
        pool_size: int | None,
        grace: int | None,
        **_: object,
    ) -> server.Plan:
        host, port = server.parse_address(address)
        postgres = server.is_postgresql()
        shared_cache = "redis" in settings.CACHES["default"]["BACKEND"].lower()
        default_processes = (os.cpu_count() or 1) if postgres and shared_cache else 1
        processes = processes or env_int("KEYLEDGER_WEB_PROCESSES", default_processes, minimum=1)
        threads = threads or env_int("KEYLEDGER_WEB_THREADS", 4, minimum=1)
        if processes < 1 or threads < 1:
            raise ImproperlyConfigured("--processes and --threads must be at least 1.")
        pool = 0
        if postgres:
            pool = pool_size if pool_size is not None else env_int("DATABASE_POOL_SIZE", 0, minimum=0)
            pool = pool or threads
        grace = grace if grace is not None else env_int("KEYLEDGER_SHUTDOWN_GRACE_SECONDS", 30, minimum=1)
        return server.Plan(
            host=host,
            port=port,
            processes=processes,
            threads=threads,
            pool_size=pool,
            grace_seconds=max(1, grace),
            static_root=self._static_root(),
        )

    def _static_root(self) -> Path | None:
        """STATIC_ROOT when production's hashed files are in use (collected now if missing)."""
        backend = settings.STORAGES["staticfiles"]["BACKEND"]
        if "Manifest" not in backend:
            return None  # development storage: WhiteNoise serves the sources
        root = Path(settings.STATIC_ROOT)
        if not (root / "staticfiles.json").exists():
            self.stdout.write(f"Collecting the static files into {root} …")
            call_command("collectstatic", interactive=False, verbosity=0)
        return root
