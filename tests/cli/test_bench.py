"""`make bench` keeps working: a tiny run on its own throw-away SQLite database, never on
the one the environment points at."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_bench_measures_every_path(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KEYLEDGER_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'real.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--keys", "12", "--calls", "30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Keyledger bench on sqlite, in-process (no server; `make bench-server` runs one): "
        "12 keys, 30 calls per measure"
    )
    table, ratios = lines[2:6], lines[6:]
    rows = {line[:46].strip(): line[46:].split() for line in table}
    assert set(rows) == {
        "first call home (activation)",
        "call home, service in-process",
        "call home, in-process (Django's test client)",
        "sweep: keys turned Critical",
    }
    assert rows["call home, in-process (Django's test client)"][0] == "30"
    assert rows["sweep: keys turned Critical"][0] == "12"
    assert all(float(cells[1]) > 0 for cells in rows.values())
    # The ratios are the table's own throughputs divided, not numbers from elsewhere.
    rate = {what: float(cells[1]) for what, cells in rows.items()}
    steady = rate["call home, service in-process"]
    assert ratios[0] == "Ratios of the measures above (this run, this machine):"
    expected = {
        "test client / service in-process": steady / rate["call home, in-process (Django's test client)"],
        "first call home / steady call home": steady / rate["first call home (activation)"],
        "sweep / steady call home": rate["sweep: keys turned Critical"] / steady,
    }
    printed = {name.strip(): float(rest.split("x")[0]) for name, rest in (r.split(": ") for r in ratios[1:])}
    assert printed.keys() == expected.keys()
    for name, value in expected.items():
        # The table rounds the throughputs it prints, the ratios are of the exact ones.
        assert printed[name] == pytest.approx(value, rel=0.01, abs=0.01), name
    assert list(tmp_path.iterdir()) == []  # the data directory of the environment is untouched
