"""A simulated fleet on the demo's accounts: new product keys, each installed on a machine
that calls home. Past days are written in-process through the call-home service with
explicit times (the clock is never changed); today's call homes go, with --url, over HTTP
to a running Keyledger, through the wire protocol, each answer's signature verified."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from django.utils import timezone

from keyledger.audit.actor import Actor, Channel
from keyledger.customers.models import Account
from keyledger.demo import history
from keyledger.demo.fleet import HttpClient, Machine
from keyledger.demo.load import DemoRefused, is_loaded, refusal
from keyledger.demo.progress import Progress
from keyledger.keys.models import Product, ProductKey

PRODUCT_MIX = {"spmsp": 7, "imagemanager": 2, "gre": 1}
EDITION_MIX = {"server": 4, "desktop": 4, "vm": 3, "sbs": 1}
SILENT_SHARE = 0.05  # machines that stopped calling home a while ago
MAX_RATE_LIMIT_WAITS = 5


@dataclass
class Result:
    machines: list[Machine] = field(default_factory=list)
    history_calls: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # "200 active", "409 key_in_use", …
    unverified: int = 0

    @property
    def live_calls(self) -> int:
        return sum(self.answers.values())


def _plan(rng: random.Random, *, days: int, live: bool) -> history.Plan:
    """Sourced `days` ago, activated since, calling home daily up to yesterday (today's call
    is the live one) or up to today; a few went silent."""
    last = 1 if live else 0
    if days < 2:
        return history.Plan(sourced=days, activated=None if live else 0)
    activated = rng.randint(1, days - 1)
    silent_since = last
    if activated >= 5 and rng.random() < SILENT_SHARE:
        silent_since = rng.randint(4, activated)
    return history.Plan(sourced=days, activated=max(activated, last), silent_since=silent_since)


def _sourcings(
    rng: random.Random, *, machines: int, days: int, live: bool, first: int
) -> list[history.Sourcing]:
    accounts = list(Account.objects.select_related("msp").order_by("pk"))
    products = {p.code: p for p in Product.objects.filter(code__in=PRODUCT_MIX, is_active=True)}
    codes = [code for code in PRODUCT_MIX if code in products]
    if not accounts or not codes:
        raise DemoRefused(
            "The demo has no accounts or no products to simulate; load it again on an empty database."
        )
    actor = Actor.system(Channel.CLI)
    sourcings = []
    for number in range(first, first + machines):
        code = rng.choices(codes, weights=[PRODUCT_MIX[c] for c in codes])[0]
        name = f"SIM-{number:05d}"
        edition = (
            rng.choices(list(EDITION_MIX), weights=list(EDITION_MIX.values()))[0] if code == "spmsp" else None
        )
        fields: dict = {}
        if code == "imagemanager":
            fields = {"shadowstream": rng.randint(1, 20), "intelligentftp": rng.randint(0, 5)}
        elif code == "gre":
            fields = {"exchange_server_name": name, "exchange_server_version": "Exchange Server 2019"}
        sourcings.append(
            history.Sourcing(
                account=rng.choice(accounts),
                site=None,
                product=products[code],
                plans=(_plan(rng, days=days, live=live),),
                actor=actor,
                edition=edition,
                fields=fields,
                machine_names=(name,),
            )
        )
    return sourcings


def _first_number() -> int:
    """Machines of earlier runs keep their names: continue after the highest SIM- number."""
    names = ProductKey.objects.filter(machine_name__startswith="SIM-").values_list("machine_name", flat=True)
    numbers = [int(n[4:]) for n in names if n[4:].isdigit()]
    return max(numbers, default=0) + 1


def simulate(
    *,
    machines: int,
    days: int,
    url: str | None,
    seed: int | None,
    stream: TextIO,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    if refusal() is not None or not is_loaded():
        raise DemoRefused(
            "The simulator adds product keys to the demo's accounts, so it runs only on the demo "
            "database: run `keyledger demo` first (on an empty database)."
        )
    client = HttpClient(url) if url else None  # fails early when nothing answers there
    rng = random.Random(seed)  # a simulation, not secrets: the same seed plays the same fleet
    now = timezone.now()
    sourcings = _sourcings(rng, machines=machines, days=days, live=client is not None, first=_first_number())
    result = Result()
    span = timedelta(days=max(s.sourced(now) for s in sourcings) + 1).total_seconds()
    bar = Progress(f"History of {days} day(s)", 100, stream=stream)

    def on_step(when: datetime) -> None:
        bar.update(int(100 * (1 - (now - when).total_seconds() / span)))

    result.machines = history.play(sourcings, now=now, on_step=on_step)
    bar.update(100)
    bar.finish()
    result.history_calls = sum(m.calls for m in result.machines)
    if client is not None:
        _play_live(client, result, sourcings, stream=stream, sleep=sleep)
    return result


def _play_live(
    client: HttpClient,
    result: Result,
    sourcings: list[history.Sourcing],
    *,
    stream: TextIO,
    sleep: Callable[[float], None],
) -> None:
    live = [
        machine
        for machine, sourcing in zip(result.machines, sourcings, strict=True)
        if sourcing.plans[0].silent_since <= 1
    ]
    bar = Progress(f"Calling home over HTTP ({client.base_url})", len(live), stream=stream)
    for machine in live:
        for _ in range(MAX_RATE_LIMIT_WAITS + 1):
            answer = client.call_home(machine)
            if answer.status != 429:
                break
            wait = answer.retry_after or 1
            bar.update(bar.done, f"rate limited: waiting {wait} s")
            sleep(wait)
        outcome = answer.data.get("status") or answer.data.get("error") or "no answer"
        result.answers[f"{answer.status} {outcome}"] += 1
        result.unverified += not answer.verified
        bar.advance()
    bar.finish()
