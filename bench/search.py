"""The top bar's search at 100,000 product keys: server time of each kind of search, as a
distributor and as an MSP user, next to an empty page of the portal in the same run.

Each search goes through Django's handler in this process (the test client: middleware,
session, view, queries, template or redirect), several times after a warm-up; the figures
are the median and the 95th percentile. Runs on a throw-away database: a fresh SQLite file
in a new temporary directory (always, unless DATABASE_URL is a PostgreSQL URL), or a test
database created next to the given PostgreSQL one and dropped afterwards.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if not os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:", "pgsql:")):
    # SQLite: always a fresh file of the bench's own, whatever the environment points at,
    # so that a bench never writes into a real database.
    os.environ.pop("DATABASE_URL", None)
    os.environ["KEYLEDGER_DATA_DIR"] = tempfile.mkdtemp(prefix="keyledger-bench-")
    atexit.register(shutil.rmtree, os.environ["KEYLEDGER_DATA_DIR"], ignore_errors=True)
import keyledger.testing.environment  # noqa: F401 (a throw-away SECRET_KEY and hosts)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyledger.settings")
# One JSON line per request would bury the figures (the requests run through its middleware).
os.environ.setdefault("KEYLEDGER_REQUEST_LOG", "0")
warnings.filterwarnings("ignore", "No directory at")

if TYPE_CHECKING:
    from bench.search_data import World

GOAL_MS = 100


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000, help="product keys (default 100,000)")
    parser.add_argument("--msps", type=int, help="MSPs (default: one per 500 keys)")
    parser.add_argument("--distributors", type=int, default=4, help="distributors (default 4)")
    parser.add_argument("--runs", type=int, default=40, help="timed runs of each search (default 40)")
    parser.add_argument("--plans", action="store_true", help="print the query plan of each search's queries")
    options = parser.parse_args(argv)
    options.msps = options.msps or max(1, options.keys // 500)
    options.distributors = max(1, min(options.distributors, options.msps))
    return options


@dataclass(frozen=True)
class Case:
    what: str
    q: str
    opens: str | None  # the URL name one match opens, None: a list


def cases(world: World, viewer: str) -> list[Case]:
    """What each viewer ("distributor" or "msp") searches for: things of the first MSP, which
    both viewers reach."""
    from keyledger.customers.models import Account, Site
    from keyledger.keys.models import ProductKey
    from keyledger.organisations.models import Organisation

    key = ProductKey.objects.select_related("account", "site").get(
        msp_id=world.first_msp, machine_name=f"WS-{world.target}"
    )
    account = Account.objects.filter(msp_id=world.first_msp).order_by("pk").last()
    site = Site.objects.filter(account=account).order_by("pk").last()
    # The distributor's last MSP (MSP n belongs to distributor n % distributors): no other
    # MSP name contains its name.
    last = (world.msps - 1) // world.distributors * world.distributors
    msp = Organisation.objects.get(pk=world.first_msp + (last if viewer == "distributor" else 0))
    detail = "portal:key_detail"
    # A name is matched anywhere in it: "Customer 9" also finds Customer 90-99, 900-999 …
    # of the viewer's subtree, so it opens for one viewer and is a list for the other.
    return [
        Case("whole key", key.key, detail),
        Case("whole key, lower case without dashes", key.key.lower().replace("-", ""), detail),
        Case("first 5 symbols of a key", key.key[:5].lower(), None),
        Case("machine name", key.machine_name.lower(), detail),
        Case("machine name prefix (many keys)", "ws-1", None),
        Case("account name", account.name, None),
        Case("site name", site.name, None),
        Case("MSP name", msp.name, None),
        Case("nothing matches", "no such thing", None),
    ]


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append(sql if params is None else (sql, params))
        return execute(sql, params, many, context)


def warmed(client: Any, url: str, data: dict[str, str]) -> tuple[Any, QueryCounter]:
    """The answer of a first request, and the statements of a second one."""
    from django.db import connection

    answer = client.get(url, data)
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        client.get(url, data)
    return answer, counter


def rounds(client: Any, requests: list[tuple[str, dict[str, str]]], runs: int) -> list[list[float]]:
    """Milliseconds of each request in each run. The requests take turns, so that whatever
    else the machine does at a moment slows them all alike, not one of them."""
    times: list[list[float]] = [[] for _ in requests]
    for _ in range(runs):
        for spent, (url, data) in zip(times, requests, strict=True):
            started = time.perf_counter()
            client.get(url, data)
            spent.append(1000 * (time.perf_counter() - started))
    return times


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[round(share * (len(ordered) - 1))]


def measure(world: World, *, runs: int, plans: bool) -> None:
    from django.test import Client
    from django.urls import reverse

    from keyledger.organisations.models import Organisation, User
    from keyledger.organisations.roles import Role

    url = reverse("portal:search")
    people = {"distributor": world.first_distributor, "MSP user": world.first_msp}
    (health,) = rounds(Client(), [("/healthz", {})], runs)
    print(f"/healthz (answered before the session and the view): median {statistics.median(health):.2f} ms")
    for viewer, org_id in people.items():
        organisation = Organisation.objects.get(pk=org_id)
        user = User.objects.create_user(
            f"{organisation.kind}@bench.test", None, organisation=organisation, role=Role.ADMIN
        )
        client = Client()
        client.force_login(user)
        searches = cases(world, organisation.kind)
        first = [warmed(client, url, {"q": case.q}) for case in searches]
        warmed(client, url, {})
        empty, *times = rounds(client, [(url, {}), *((url, {"q": case.q}) for case in searches)], runs)
        base = statistics.median(empty)
        print(
            f"As a {viewer} ({organisation.name}); baseline, the search page with no query: "
            f"median {base:.1f} ms, p95 {percentile(empty, 0.95):.1f} ms"
        )
        print(f"  {'search':40}{'median':>9}{'p95':>9}{'ratio':>8}{'queries':>9}  answer")
        for case, (answer, counter), spent in zip(searches, first, times, strict=True):
            median, p95 = statistics.median(spent), percentile(spent, 0.95)
            verdict = "" if p95 < GOAL_MS else f"  goal < {GOAL_MS} ms NOT met"
            print(
                f"  {case.what:40}{median:>7.1f}ms{p95:>7.1f}ms{median / base:>7.1f}x"
                f"{len(counter.statements):>9}  {describe(answer, case, user)}{verdict}"
            )
            if plans:
                explain(counter.statements)


def describe(answer: Any, case: Case, user: Any) -> str:
    from django.urls import resolve

    from keyledger.access.search import parse, search_for_user

    if answer.status_code == 302:
        opened = resolve(answer["Location"]).view_name
        if case.opens is not None and opened != case.opens:
            raise SystemExit(f"{case.what}: opened {opened}, not {case.opens}")
        return f"opens {opened.removeprefix('portal:')}"
    if answer.status_code != 200:
        raise SystemExit(f"{case.what}: answered {answer.status_code}")
    if case.opens is not None:
        raise SystemExit(f"{case.what}: listed instead of opening {case.opens}")
    groups = search_for_user(user, parse(case.q)).groups.values()
    return "lists " + (
        ", ".join(f"{len(g.items)}{'+' if g.more else ''} {g.kind}" for g in groups if g.items) or "nothing"
    )


def explain(statements: list[Any]) -> None:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    for statement in statements:
        sql, params = statement if isinstance(statement, tuple) else (statement, None)
        # The search's own queries: the keys, and the names matched with LIKE.
        if not sql.lstrip().startswith("SELECT") or ("keys_productkey" not in sql and "LIKE" not in sql):
            continue
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql, params)
            rows = cursor.fetchall()
        print("      " + sql[:160].replace("\n", " ") + ("…" if len(sql) > 160 else ""))
        for row in rows:
            print("        " + str(row[-1] if connection.vendor == "sqlite" else row[0]))


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)

    import django
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)  # the fresh file in the throw-away data directory
        created = None
    else:
        created = setup_databases(verbosity=0, interactive=False)
    try:
        print(
            f"Keyledger search bench on {connection.vendor}: {options.keys:,} keys, {options.msps:,} MSPs, "
            f"{options.distributors:,} distributors; server time of {options.runs} runs after a warm-up"
        )
        started = time.perf_counter()
        from bench.search_data import build

        world = build(options.keys, options.msps, options.distributors)
        print(f"Dataset written in {time.perf_counter() - started:.1f} s (not the benchmark)")
        measure(world, runs=options.runs, plans=options.plans)
        return 0
    finally:
        connection.close()
        if created is not None:
            teardown_databases(created, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
