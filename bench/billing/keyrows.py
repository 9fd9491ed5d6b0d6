"""The keys of the synthetic dataset, their events and their active spans.

A plan table (bench_key) gives each key its history, MSP, placements and times; the keys,
then one INSERT … SELECT per step of each history (events) and per span of each history
(spans) follow from it, so the spans are exactly those the events imply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from bench.billing import sqlbits as q
from bench.billing.histories import DAY, HOUR, MAX_MULT, History, Step, histories
from keyledger.billing.models import ActiveSpan
from keyledger.keys.models import KeyEvent, Product, ProductKey

if TYPE_CHECKING:
    from bench.billing.data import Dataset

EVENT_SLOTS = 16  # event ids: base + n * 16 + step (a history has at most 12 steps)
SPAN_SLOTS = 4
VERSION = "5.2.7"
# ImageManager keys hold job licenses; a price per license type.
JOB_LICENSES = (
    {"intelligentftp": 0, "shadowstream": 5, "headstart": 2},
    {"shadowstream": 20},
    {"intelligentftp": 10, "headstart": 1},
)
GRE_FIELDS = {"exchange_server_name": "EXCH-01", "exchange_server_version": "2019"}


def catalog(data: Dataset) -> tuple[History, ...]:
    return histories(
        lease_seconds=settings.KEYLEDGER_OFFLINE_LEASE_DAYS * DAY,
        critical_seconds=settings.KEYLEDGER_CRITICAL_HOURS * HOUR,
    )


def plan(data: Dataset) -> int:
    """bench_key: one row per key with its history, MSP, placements and times (epoch seconds)."""
    s, kinds = data.scale, catalog(data)
    start = q.epoch(data.month.start) - 150 * DAY
    lease_room = settings.KEYLEDGER_OFFLINE_LEASE_DAYS * DAY + 2 * DAY
    # Activations run until a week before now (less the room), so that the closed month
    # has keys activated and deactivated in it.
    window = q.epoch(data.now) - 7 * DAY - start
    bounds, total = [], 0
    for kind in kinds:
        total += kind.share
        bounds.append(f"WHEN x.h0 % 100 < {total} THEN {kind.code}")
    movers = [k.code for k in kinds if k.name == "moved to another account"]
    editors = [k.code for k in kinds if k.name == "edition changed"]
    any_product = ", ".join(str(k.code) for k in kinds if k.any_product)
    spmsp, im, gre = data.products["spmsp"], data.products["imagemanager"], data.products["gre"]
    editions = Product.objects.get(code="spmsp").edition_codes()
    a, d = s.accounts_per_msp, s.sites_per_account
    msp = (
        "0"
        if s.msps == 1
        else f"CASE WHEN x.n < {s.big_msp_keys} THEN 0 ELSE 1 + (x.n - {s.big_msp_keys}) % {s.msps - 1} END"
    )

    def edition(shift: str) -> str:
        cases = " ".join(f"WHEN {i} THEN {q.text(e)}" for i, e in enumerate(editions))
        return f"CASE WHEN y.product_id = {spmsp} THEN CASE (y.h6 / 16 + {shift}) % {len(editions)} {cases} END ELSE '' END"

    acc = data.counts["account base"]
    hashes = ", ".join(f"{q.hashed('n', i)} AS h{i}" for i in range(7))
    level1 = f"SELECT n, {hashes} FROM {q.numbers(s.keys)} nn"
    now = q.epoch(data.now)
    lapsing = ", ".join(str(k.code) for k in kinds if any(step.lease for step in k.steps))
    level2 = f"""
        SELECT x.*, CASE {" ".join(bounds)} END AS h,
               {data.first_msp_id} + {msp} AS msp_id,
               {acc} + ({msp}) * {a} + x.h5 % {a} AS acc_pre
        FROM ({level1}) x"""
    # Room after the last step: a lapsed lease ends 30 days after its key's last call, and
    # is written down two days later; other histories end within their gaps.
    level3 = f"""
        SELECT w.*, CASE WHEN w.h IN ({lapsing}) THEN {lease_room} ELSE {2 * DAY} END AS room,
               {start} + (w.h1 * 65536 + w.h2) % ({window} - CASE WHEN w.h IN ({lapsing})
                                                         THEN {lease_room} ELSE {2 * DAY} END) AS a,
               CASE WHEN w.h IN ({any_product}) AND (w.h4 / 64) % 10 = 9 THEN {gre}
                    WHEN w.h IN ({any_product}) AND (w.h4 / 64) % 10 >= 6 THEN {im}
                    ELSE {spmsp} END AS product_id,
               CASE WHEN w.h IN ({", ".join(map(str, movers))})
                    THEN w.acc_pre - w.h5 % {a} + (w.h5 + 1) % {a} ELSE w.acc_pre END AS acc_post
        FROM ({level2}) w"""
    site_base = data.counts["site base"]
    site = f"{site_base} + (y.ACC - {acc}) * {d} + y.h6 % {d}"
    level4 = f"""
        SELECT y.n, y.h, y.h5, y.msp_id, y.product_id, y.a, y.acc_pre, y.acc_post,
               {DAY} + ({now} - y.room - y.a - {(MAX_MULT + 1) * DAY}) * (y.h3 % 100)
                   / {100 * (MAX_MULT + 1)} AS g,
               y.a - {HOUR} - (y.h3 / 100) * {HOUR} AS src,
               y.h4 % {HOUR} AS j,
               CASE WHEN (y.h6 / 4) % 5 = 0 THEN NULL ELSE {site.replace("ACC", "acc_pre")} END AS site_pre,
               CASE WHEN y.acc_post <> y.acc_pre THEN {site.replace("ACC", "acc_post")}
                    WHEN (y.h6 / 4) % 5 = 0 THEN NULL ELSE {site.replace("ACC", "acc_pre")} END AS site_post,
               {edition("0")} AS ed_pre,
               CASE WHEN y.h IN ({", ".join(map(str, editors))}) THEN {edition("1")} ELSE {edition("0")} END AS ed_post
        FROM ({level3}) y"""
    q.execute("DROP TABLE IF EXISTS bench_key")
    q.execute(f"CREATE TABLE bench_key AS {level4}")
    q.execute("CREATE INDEX bench_key_h ON bench_key (h)")
    return q.scalar("SELECT COUNT(*) FROM bench_key")


def time_of(step: Step, *, now: int, jitter: bool = False) -> str:
    """SQL (epoch seconds, over bench_key k) for when `step` happened to the key."""
    if step.anchor == "src":
        return "k.src"
    if step.anchor == "now":
        return f"({now} - {step.extra}{' - k.j' if jitter else ''})"
    return f"(k.a + {step.mult} * k.g + {step.extra})"


def keys(data: Dataset) -> int:
    now = q.epoch(data.now)
    kinds = catalog(data)
    critical = settings.KEYLEDGER_CRITICAL_HOURS * HOUR
    lease = settings.KEYLEDGER_OFFLINE_LEASE_DAYS * DAY

    def per_kind(value) -> str:
        return "CASE k.h " + " ".join(f"WHEN {k.code} THEN {value(k)}" for k in kinds) + " END"

    def last_call(kind: History) -> str:
        return "NULL" if kind.last_call is None else time_of(kind.last_call, now=now, jitter=True)

    def activated(kind: History) -> str:
        return "NULL" if kind.last_activation is None else time_of(kind.steps[kind.last_activation], now=now)

    def due(kind: History) -> str:
        after = {ProductKey.State.OK: critical, ProductKey.State.DEACTIVATION_REQUESTED: lease}
        return "NULL" if kind.state not in after else f"{last_call(kind)} + {after[kind.state]}"

    bound = "k.h <> 0"  # the "never activated" history has code 0
    im, gre = data.products["imagemanager"], data.products["gre"]
    fields = " ".join(f"WHEN {i} THEN {q.json_text(v)}" for i, v in enumerate(JOB_LICENSES))
    data.counts["key base"] = key = q.next_id(ProductKey)
    return q.insert(
        ProductKey,
        {
            "id": f"{key} + k.n",
            "key": "'BK-' || k.n",
            "product_id": "k.product_id",
            "msp_id": "k.msp_id",
            "account_id": "k.acc_post",
            "site_id": "k.site_post",
            "state": per_kind(lambda k: q.text(k.state)),
            "fields": f"CASE WHEN k.product_id = {im} THEN CASE k.h5 % {len(JOB_LICENSES)} {fields} END"
            f" WHEN k.product_id = {gre} THEN {q.json_text(GRE_FIELDS)} ELSE {q.json_text({})} END",
            "machine_name": f"CASE WHEN {bound} THEN 'BM-' || k.n END",
            "machine_hardware_id": f"CASE WHEN {bound} THEN 'HW-' || k.n END",
            "machine_software_id": f"CASE WHEN {bound} THEN 'SW-' || k.n END",
            "edition": f"CASE WHEN {bound} THEN k.ed_post ELSE '' END",
            "version": f"CASE WHEN {bound} THEN {q.text(VERSION)} ELSE '' END",
            "os": f"CASE WHEN {bound} THEN 'Windows Server 2022' ELSE '' END",
            "activated_at": q.at(per_kind(activated)),
            "last_call_home_at": q.at(per_kind(last_call)),
            "critical_due_at": q.at(per_kind(due)),
            "created_at": q.at("k.src"),
        },
        "FROM bench_key k ORDER BY k.n",
    )


def events(data: Dataset) -> int:
    now, key = q.epoch(data.now), data.counts["key base"]
    data.counts["event base"] = base = q.next_id(KeyEvent)
    written = 0
    for kind in catalog(data):
        for index, step in enumerate(kind.steps):
            when = time_of(step, now=now)
            bound = step.transition != "source"
            suffix = "post" if step.placement else "pre"
            machine = (lambda prefix: f"'{prefix}-' || k.n") if bound else (lambda prefix: "NULL")
            written += q.insert(
                KeyEvent,
                {
                    "id": f"{base} + k.n * {EVENT_SLOTS} + {index}",
                    "at": q.at(when),
                    "recorded_at": q.at(f"{when} + {step.recorded_later}"),
                    "key_id": f"{key} + k.n",
                    "old_state": q.text(step.old),
                    "new_state": q.text(step.new),
                    "cause": q.text(step.cause),
                    "transition": q.text(step.transition),
                    "machine_name": machine("BM"),
                    "machine_hardware_id": machine("HW"),
                    "machine_software_id": machine("SW"),
                    "edition": f"k.ed_{suffix}" if bound else "''",
                    "msp_id": "k.msp_id",
                    "account_id": f"k.acc_{suffix}",
                    "site_id": f"k.site_{suffix}",
                },
                f"FROM bench_key k WHERE k.h = {kind.code} ORDER BY k.n",
            )
    return written


def spans(data: Dataset) -> int:
    now, key = q.epoch(data.now), data.counts["key base"]
    data.counts["span base"] = base = q.next_id(ActiveSpan)
    lease = settings.KEYLEDGER_OFFLINE_LEASE_DAYS * DAY
    written = 0
    for kind in catalog(data):
        for index, span in enumerate(kind.spans):
            start = kind.steps[span.start]
            suffix = "post" if start.placement else "pre"
            end = None if span.end is None else kind.steps[span.end]
            ended = "NULL" if end is None else q.at(time_of(end, now=now))
            last_call = "NULL"
            if span.ends_period and end is not None:
                last_call = q.at(f"{time_of(end, now=now)} - {lease if end.lease else 0}")
            written += q.insert(
                ActiveSpan,
                {
                    "id": f"{base} + k.n * {SPAN_SLOTS} + {index}",
                    "key_id": f"{key} + k.n",
                    "msp_id": "k.msp_id",
                    "product_id": "k.product_id",
                    "period_start": q.at(time_of(kind.steps[span.period], now=now)),
                    "started_at": q.at(time_of(start, now=now)),
                    "ended_at": ended,
                    "ends_period": "TRUE" if span.ends_period else "FALSE",
                    "edition": f"k.ed_{suffix}",
                    "account_id": f"k.acc_{suffix}",
                    "site_id": f"k.site_{suffix}",
                    "machine_name": "'BM-' || k.n",
                    "last_call_home_at": last_call,
                    "version": q.text(VERSION) if span.ends_period else "''",
                },
                f"FROM bench_key k WHERE k.h = {kind.code} ORDER BY k.n",
            )
    return written
