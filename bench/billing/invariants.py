"""What every real key history satisfies, checked in SQL over the whole dataset: a benchmark
on data the product could never have written would measure nothing.

Each check counts the rows that break it; the bench stops unless every count is zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bench.billing import sqlbits as q
from keyledger.billing.sql import dt
from keyledger.keys import states
from keyledger.keys.models import ProductKey

ACTIVE = "(" + ", ".join(q.text(s) for s in sorted(ProductKey.ACTIVE_STATES)) + ")"
OPENS = "('activate', 'finalise_reactivation')"
CLOSES = "('finalise_deactivation', 'lease_expired', 'deactivate_offline')"
SPLITS = (q.text(states.MOVE), q.text(states.REPORT_EDITION.name))
SAME_SITE = "(e.site_id = s.site_id OR (e.site_id IS NULL AND s.site_id IS NULL))"
BY_KEY = "WINDOW w AS (PARTITION BY key_id ORDER BY started_at, id)"


@dataclass(frozen=True)
class Result:
    rule: str
    broken: int
    seconds: float


def checks(now: datetime) -> list[tuple[str, str, list]]:
    """(rule, SQL counting the rows that break it, parameters)."""
    splits = ", ".join(SPLITS)
    return [
        (
            "a key's spans are ordered and disjoint",
            f"""SELECT COUNT(*) FROM (
                  SELECT started_at, LAG(ended_at) OVER w AS prev_end, ROW_NUMBER() OVER w AS r
                  FROM billing_activespan {BY_KEY}) x
                WHERE x.r > 1 AND (x.prev_end IS NULL OR x.prev_end > x.started_at)""",
            [],
        ),
        (
            "at most one open span per key",
            """SELECT COUNT(*) FROM (SELECT key_id FROM billing_activespan WHERE ended_at IS NULL
                GROUP BY key_id HAVING COUNT(*) > 1) x""",
            [],
        ),
        (
            "an open span exactly for the keys in an active state",
            f"""SELECT COUNT(*) FROM keys_productkey k
                LEFT JOIN billing_activespan s ON s.key_id = k.id AND s.ended_at IS NULL
                WHERE (k.state IN {ACTIVE} AND s.id IS NULL) OR (k.state NOT IN {ACTIVE} AND s.id IS NOT NULL)""",
            [],
        ),
        (
            "spans lie after the key's activation event and before now",
            """SELECT COUNT(*) FROM billing_activespan s
                LEFT JOIN keys_keyevent e ON e.key_id = s.key_id AND e.transition = 'activate'
                WHERE e.id IS NULL OR s.period_start < e.at OR s.started_at < s.period_start
                   OR s.started_at > %s OR s.ended_at > %s""",
            [dt(now), dt(now)],
        ),
        (
            "activated_at is the start of the key's latest period",
            """SELECT COUNT(*) FROM keys_productkey k
                LEFT JOIN (SELECT key_id, MAX(period_start) AS latest FROM billing_activespan
                           GROUP BY key_id) p ON p.key_id = k.id
                WHERE (k.state = 'unused') <> (p.key_id IS NULL)
                   OR (p.key_id IS NOT NULL AND k.activated_at <> p.latest)""",
            [],
        ),
        (
            "ends_period only on a period's last span; a period's spans follow one another",
            f"""SELECT COUNT(*) FROM (
                  SELECT ends_period, started_at, ended_at, period_start,
                         LAG(period_start) OVER w AS prev_period,
                         LEAD(period_start) OVER w AS next_period, LEAD(started_at) OVER w AS next_start
                  FROM billing_activespan {BY_KEY}) x
                WHERE (x.ends_period AND (x.ended_at IS NULL OR x.next_period = x.period_start))
                   OR (NOT x.ends_period AND x.ended_at IS NOT NULL
                       AND (x.next_period IS NULL OR x.next_period <> x.period_start
                            OR x.next_start <> x.ended_at))
                   OR ((x.prev_period IS NULL OR x.prev_period <> x.period_start)
                       AND x.started_at <> x.period_start)""",
            [],
        ),
        (
            "each key's events replay: sourced first, old_state is the previous new_state",
            """SELECT COUNT(*) FROM (
                  SELECT old_state, transition, LAG(new_state) OVER w AS prev, ROW_NUMBER() OVER w AS r
                  FROM keys_keyevent WINDOW w AS (PARTITION BY key_id ORDER BY at, id)) x
                WHERE (x.r = 1 AND (x.old_state <> '' OR x.transition <> 'source'))
                   OR (x.r > 1 AND x.old_state <> x.prev)""",
            [],
        ),
        (
            "each key's last event leaves it in its state",
            """SELECT COUNT(*) FROM keys_productkey k
                LEFT JOIN (SELECT key_id, new_state,
                                  ROW_NUMBER() OVER (PARTITION BY key_id ORDER BY at DESC, id DESC) AS r
                           FROM keys_keyevent) e ON e.key_id = k.id AND e.r = 1
                WHERE e.key_id IS NULL OR e.new_state <> k.state""",
            [],
        ),
        (
            "each span starts at an event that opens or splits it, in its placement",
            f"""SELECT COUNT(*) FROM billing_activespan s WHERE NOT EXISTS (
                  SELECT 1 FROM keys_keyevent e
                  WHERE e.key_id = s.key_id AND e.at = s.started_at AND e.edition = s.edition
                    AND e.account_id = s.account_id AND {SAME_SITE}
                    AND ((s.started_at = s.period_start AND e.transition IN {OPENS})
                         OR (s.started_at > s.period_start AND e.transition IN ({splits}))))""",
            [],
        ),
        (
            "each ended span ends at the event that closes or splits it",
            f"""SELECT COUNT(*) FROM billing_activespan s WHERE s.ended_at IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM keys_keyevent e
                  WHERE e.key_id = s.key_id AND e.at = s.ended_at
                    AND ((s.ends_period AND e.transition IN {CLOSES})
                         OR (NOT s.ends_period AND e.transition IN ({splits}))))""",
            [],
        ),
        (
            "each event into, out of or within an active state has its span boundary",
            f"""SELECT COUNT(*) FROM keys_keyevent e
                WHERE (e.old_state NOT IN {ACTIVE} AND e.new_state IN {ACTIVE} AND NOT EXISTS (
                         SELECT 1 FROM billing_activespan s
                         WHERE s.key_id = e.key_id AND s.started_at = e.at AND s.period_start = e.at))
                   OR (e.old_state IN {ACTIVE} AND e.new_state NOT IN {ACTIVE} AND NOT EXISTS (
                         SELECT 1 FROM billing_activespan s
                         WHERE s.key_id = e.key_id AND s.ended_at = e.at AND s.ends_period))
                   OR (e.transition IN ({splits}) AND e.new_state IN {ACTIVE} AND NOT EXISTS (
                         SELECT 1 FROM billing_activespan s
                         WHERE s.key_id = e.key_id AND s.started_at = e.at))""",
            [],
        ),
        (
            "every key, event and span has its parent rows",
            f"""SELECT
                 (SELECT COUNT(*) FROM keys_productkey k {_parents("k", ("product", "msp", "account"))})
               + (SELECT COUNT(*) FROM keys_keyevent e {_parents("e", ("key", "msp", "account"))})
               + (SELECT COUNT(*) FROM billing_activespan s
                  {_parents("s", ("key", "msp", "account", "product"))})""",
            [],
        ),
        (
            "a key's MSP is its account's; its site is its account's; events and spans agree",
            """SELECT
                 (SELECT COUNT(*) FROM keys_productkey k JOIN customers_account a ON a.id = k.account_id
                  LEFT JOIN customers_site t ON t.id = k.site_id
                  WHERE a.msp_id <> k.msp_id OR (k.site_id IS NOT NULL AND t.account_id <> k.account_id))
               + (SELECT COUNT(*) FROM keys_keyevent e JOIN keys_productkey k ON k.id = e.key_id
                  JOIN customers_account a ON a.id = e.account_id
                  WHERE e.msp_id <> k.msp_id OR a.msp_id <> e.msp_id)
               + (SELECT COUNT(*) FROM billing_activespan s JOIN keys_productkey k ON k.id = s.key_id
                  JOIN customers_account a ON a.id = s.account_id
                  WHERE s.msp_id <> k.msp_id OR s.product_id <> k.product_id OR a.msp_id <> s.msp_id)""",
            [],
        ),
    ]


PARENTS = {
    "key": "keys_productkey",
    "product": "keys_product",
    "msp": "organisations_organisation",
    "account": "customers_account",
    "site": "customers_site",
}


def _parents(alias: str, required: tuple[str, ...]) -> str:
    """LEFT JOINs to the row's parents and a WHERE that keeps the rows missing one (the
    site is optional, but when named it exists)."""
    joins = [f"LEFT JOIN {PARENTS[p]} p_{p} ON p_{p}.id = {alias}.{p}_id" for p in (*required, "site")]
    missing = [f"p_{p}.id IS NULL" for p in required]
    missing.append(f"({alias}.site_id IS NOT NULL AND p_site.id IS NULL)")
    return " ".join(joins) + " WHERE " + " OR ".join(missing)


def allowed_transitions() -> set[tuple[str, str, str]]:
    allowed = {
        (t.name, source, target) for t in states.TRANSITIONS for source in t.sources for target in t.targets
    }
    return allowed | {(states.MOVE, s, s) for s in ProductKey.State.values}


def check(now: datetime) -> list[Result]:
    results = []
    for rule, sql, params in checks(now):
        with q.stopwatch() as took:
            broken = int(q.scalar(sql, params))
        results.append(Result(rule, broken, took[0]))
    with q.stopwatch() as took:
        seen = q.execute("SELECT transition, old_state, new_state FROM keys_keyevent GROUP BY 1, 2, 3")
        unknown = {tuple(row) for row in seen} - allowed_transitions()
    results.append(Result("every event is a transition of the state machine", len(unknown), took[0]))
    return results
