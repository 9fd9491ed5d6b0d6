"""N active keys for the call-home benchmark, each bound to its own machine.

Witness keys go through the real actions: `source_keys` sources one batch per MSP, and each
key's first call home (the call-home service, in-process) activates it and binds it to its
machine. The other keys are written set-based as copies of a witness of their MSP: the key
row, its events, its active span and its audit rows, with their own key, machine and ids.
Then bench.billing.invariants checks every key, event and span in the database, every copy
is checked to have as many rows of each kind as its witness, and a sample of copies is
compared with their witnesses column by column. The copies share their witness's sourcing
request; the audit row of that request lists the witnesses' keys only.

Key number n (0 … N-1) is bound to the machine BENCH-n, hardware HW-n, software SW-n: the
load generators need only the list of keys, in that order (`write_keys`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import connection, models
from django.utils import timezone

from bench.billing import invariants
from bench.billing import sqlbits as q
from keyledger.audit.actor import Actor, Channel
from keyledger.audit.models import AuditEntry
from keyledger.billing.models import ActiveSpan
from keyledger.keys import actions, keyformat
from keyledger.keys.call_home import Report, call_home
from keyledger.keys.models import KeyEvent, Product, ProductKey
from keyledger.organisations.models import Organisation

PRODUCT = "spmsp"
EDITION = "server"
VERSION = "5.2.7"
OS = "Windows Server 2022"
KEYS_PER_MSP = 2_000
MAX_MSPS = 50
# Columns that make a copy a key of its own; every other column is the witness's.
KEY_IDENTITY = {"id", "key", "machine_name", "machine_hardware_id", "machine_software_id"}
ROW_IDENTITY = {"id", "key_id", "machine_name", "machine_hardware_id", "machine_software_id"}
AUDIT_IDENTITY = {"id", "object_id", "object_repr", "changes"}


def machine(n: int) -> tuple[str, str, str]:
    """The machine key number n is bound to: name, hardware id, software id."""
    return f"BENCH-{n}", f"HW-{n}", f"SW-{n}"


@dataclass
class Keys:
    keys: list[str]  # key number n is keys[n]
    witnesses: int
    msps: int
    seconds: dict[str, float] = field(default_factory=dict)
    checks: list[tuple[str, int]] = field(default_factory=list)  # (rule, rows breaking it)


def report(n: int, key: str, nonce: str) -> Report:
    name, hardware, software = machine(n)
    return Report(
        key=key,
        product=PRODUCT,
        machine_name=name,
        hardware_id=hardware,
        software_id=software,
        nonce=nonce,
        edition=EDITION,
        version=VERSION,
        os=OS,
    )


def create(count: int) -> Keys:
    """`count` active keys: witnesses through the real actions, the rest copied set-based."""
    from keyledger.customers.models import Account
    from keyledger.testing.tree import make_org

    product = Product.objects.get(code=PRODUCT)
    msps = max(1, min(MAX_MSPS, count // KEYS_PER_MSP))
    per_msp = min(product.max_quantity, max(1, count // msps))
    with q.stopwatch() as took:
        vendor = make_org(parent=None, kind=Organisation.Kind.VENDOR, name="Bench Vendor")
        distributor = make_org(parent=vendor, kind=Organisation.Kind.DISTRIBUTOR, name="Bench Distribution")
        cli = Actor.system(Channel.CLI)
        # A day ago, so that the benchmark's call homes are the next day's, as in the field;
        # sourced an hour before that.
        then = timezone.now() - timedelta(days=1)
        witnesses: list[ProductKey] = []
        for m in range(msps):
            msp = make_org(parent=distributor, kind=Organisation.Kind.MSP, name=f"Bench MSP {m + 1}")
            account = Account.objects.create(msp=msp, name=f"Bench Account {m + 1}")
            quantity = min(per_msp, count - len(witnesses))
            if quantity > 0:
                witnesses += actions.source_keys(
                    product=product,
                    quantity=quantity,
                    account=account,
                    site=None,
                    fields={},
                    actor=cli,
                    now=then - timedelta(hours=1),
                )
        products = Actor(channel=Channel.PRODUCT, ip="127.0.0.1")
        for n, key in enumerate(witnesses):
            outcome = call_home(report=report(n, key.key, f"activate-{n}"), actor=products, now=then)
            if not outcome.active:
                raise SystemExit(f"Witness key {key.key} did not activate.")
    data = Keys(keys=[k.key for k in witnesses], witnesses=len(witnesses), msps=msps)
    data.seconds["witnesses (real actions)"] = took[0]
    with q.stopwatch() as took:
        _copy(data, [k.pk for k in witnesses], count)
    data.seconds["copies (set-based)"] = took[0]
    with q.stopwatch() as took:
        q.analyze()
    data.seconds["analyze"] = took[0]
    with q.stopwatch() as took:
        data.checks = check(data)
    data.seconds["checks"] = took[0]
    return data


def _columns(model: type[models.Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if not f.primary_key]


def _copy_sql(model: type[models.Model], overrides: dict[str, str], source: str) -> str:
    """INSERT … SELECT of `model`'s rows: every column from the witness's row `w`, except
    `overrides` (column: SQL expression); without an override of "id" the database numbers
    the row."""
    columns = _columns(model)
    if "id" in overrides:
        columns.insert(0, "id")
    expressions = [overrides.get(c, f"w.{connection.ops.quote_name(c)}") for c in columns]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    return f"INSERT INTO {model._meta.db_table} ({quoted}) SELECT {', '.join(expressions)} {source}"


def _copy(data: Keys, witness_ids: list[int], count: int) -> None:
    copies = count - data.witnesses
    if copies <= 0:
        return
    # Copy number n copies the witness n % W of the same MSP: witnesses are in MSP order,
    # per_msp of them each, so take the witness at n modulo the number of witnesses.
    rng = random.SystemRandom()
    new_keys = {keyformat.generate() for _ in range(copies + 64)} - set(data.keys)
    new_keys_list = sorted(new_keys, key=lambda _: rng.random())[:copies]
    base = q.next_id(ProductKey)
    start = data.witnesses
    q.execute("DROP TABLE IF EXISTS bench_server_key")
    q.execute(
        "CREATE TABLE bench_server_key (n bigint PRIMARY KEY, id bigint, key varchar(29), witness bigint)"
    )
    rows = [
        (start + i, base + i, key, witness_ids[(start + i) % data.witnesses])
        for i, key in enumerate(new_keys_list)
    ]
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), 10_000):
            cursor.executemany(
                "INSERT INTO bench_server_key (n, id, key, witness) VALUES (%s, %s, %s, %s)",
                rows[offset : offset + 10_000],
            )
    machine_columns = {
        "machine_name": "'BENCH-' || b.n",
        "machine_hardware_id": "'HW-' || b.n",
        "machine_software_id": "'SW-' || b.n",
    }
    q.execute(
        _copy_sql(
            ProductKey,
            {"id": "b.id", "key": "b.key", **machine_columns},
            "FROM bench_server_key b JOIN keys_productkey w ON w.id = b.witness ORDER BY b.n",
        )
    )
    row_machine = {
        c: f"CASE WHEN w.{c} IS NULL THEN NULL ELSE {expr} END" for c, expr in machine_columns.items()
    }
    for model in (KeyEvent, ActiveSpan):
        overrides = {"key_id": "b.id", **{c: e for c, e in row_machine.items() if c in _columns(model)}}
        table = model._meta.db_table
        q.execute(
            _copy_sql(
                model,
                overrides,
                f"FROM bench_server_key b JOIN {table} w ON w.key_id = b.witness ORDER BY b.n, w.id",
            )
        )
    machine_json = (
        "jsonb_set(w.changes, '{machine}', to_jsonb('BENCH-' || b.n))"
        if q.postgres()
        else "json_set(w.changes, '$.machine', 'BENCH-' || b.n)"
    )
    text = "varchar(64)" if q.postgres() else "text"
    q.execute(
        _copy_sql(
            AuditEntry,
            {"object_id": f"CAST(b.id AS {text})", "object_repr": "b.key", "changes": machine_json},
            "FROM bench_server_key b JOIN audit_auditentry w ON w.object_type = 'keys.ProductKey'"
            f" AND w.object_id = CAST(b.witness AS {text}) ORDER BY b.n, w.id",
        )
    )
    q.reset_sequences(ProductKey, KeyEvent, ActiveSpan, AuditEntry)
    data.keys += new_keys_list


def check(data: Keys) -> list[tuple[str, int]]:
    """Rules every key of the benchmark satisfies, with the rows that break each."""
    results = [(r.rule, r.broken) for r in invariants.check(timezone.now())]
    ok = ProductKey.State.OK
    results.append(
        (
            f"{len(data.keys):,} keys, all active (OK) and each on its own machine",
            abs(
                len(data.keys) - ProductKey.objects.filter(state=ok).values("machine_name").distinct().count()
            )
            + ProductKey.objects.exclude(state=ok).count(),
        )
    )
    if data.witnesses < len(data.keys):
        text = "varchar(64)" if q.postgres() else "text"
        for model, column, where, cast in (
            (KeyEvent, "key_id", "", "{}"),
            (ActiveSpan, "key_id", "", "{}"),
            (AuditEntry, "object_id", "WHERE object_type = 'keys.ProductKey'", f"CAST({{}} AS {text})"),
        ):
            table = model._meta.db_table
            counts = f"(SELECT {column} AS owner, COUNT(*) AS c FROM {table} {where} GROUP BY {column})"
            results.append(
                (
                    f"each copy has its witness's number of {table} rows",
                    int(
                        q.scalar(
                            f"""SELECT COUNT(*) FROM bench_server_key b
                                LEFT JOIN {counts} mine ON mine.owner = {cast.format("b.id")}
                                LEFT JOIN {counts} theirs ON theirs.owner = {cast.format("b.witness")}
                                WHERE COALESCE(mine.c, 0) <> COALESCE(theirs.c, 0)"""
                        )
                    ),
                )
            )
        results.append(("a sample of copies equals its witnesses but for its identity", _compare_sample()))
        q.execute("DROP TABLE bench_server_key")
    return results


def _rows(model: type[models.Model], ignore: set[str], **where: Any) -> list[dict[str, Any]]:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ignore]
    return list(model.objects.filter(**where).order_by("id").values(*fields))


def _compare_sample(size: int = 200) -> int:
    pairs = q.execute("SELECT id, witness, n FROM bench_server_key ORDER BY n")
    step = max(1, len(pairs) // size)
    broken = 0
    for copy_id, witness_id, n in pairs[::step]:
        same = _rows(ProductKey, KEY_IDENTITY, id=copy_id) == _rows(ProductKey, KEY_IDENTITY, id=witness_id)
        for model in (KeyEvent, ActiveSpan):
            same &= _rows(model, ROW_IDENTITY, key_id=copy_id) == _rows(
                model, ROW_IDENTITY, key_id=witness_id
            )
        mine = _audit(copy_id)
        theirs = _audit(witness_id)
        same &= [row for row, _ in mine] == [row for row, _ in theirs]
        same &= all(
            changes == {**their_changes, **({"machine": machine(n)[0]} if "machine" in their_changes else {})}
            for (_, changes), (_, their_changes) in zip(mine, theirs, strict=True)
        )
        copy = ProductKey.objects.get(id=copy_id)
        same &= (copy.machine_name, copy.machine_hardware_id, copy.machine_software_id) == machine(n)
        broken += not same
    return broken


def _audit(key_id: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    rows = _rows(
        AuditEntry, AUDIT_IDENTITY - {"changes"}, object_type="keys.ProductKey", object_id=str(key_id)
    )
    return [({k: v for k, v in row.items() if k != "changes"}, row["changes"]) for row in rows]


def write_keys(data: Keys, path: Path) -> None:
    """One key a line, key number n on line n + 1: the load generators read it."""
    path.write_text("".join(f"{key}\n" for key in data.keys))


def body(n: int, key: str, nonce: str) -> bytes:
    """The JSON body key number n sends (SPEC §7): the bench's Lua script writes the same."""
    name, hardware, software = machine(n)
    return json.dumps(
        {
            "key": key,
            "machine": {"name": name, "hardware_id": hardware, "software_id": software},
            "product": PRODUCT,
            "edition": EDITION,
            "version": VERSION,
            "os": OS,
            "nonce": nonce,
        },
        separators=(",", ":"),
    ).encode()
