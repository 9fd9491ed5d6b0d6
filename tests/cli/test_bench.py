"""`make bench` keeps working: a tiny run on its own throw-away SQLite database, never on
the one the environment points at."""

import os
import subprocess
import sys
from pathlib import Path

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
    assert lines[0] == "Keyledger bench on sqlite: 12 keys, 30 calls per measure"
    rows = {line[:32].strip(): line[32:].split() for line in lines[2:]}
    assert set(rows) == {
        "first call home (activation)",
        "call home, service in-process",
        "call home, whole HTTP request",
        "sweep: keys turned Critical",
    }
    assert rows["call home, whole HTTP request"][0] == "30"
    assert rows["sweep: keys turned Critical"][0] == "12"
    assert all(float(cells[1]) > 0 for cells in rows.values())
    assert list(tmp_path.iterdir()) == []  # the data directory of the environment is untouched
