"""`make bench-search` keeps working: a tiny run on its own throw-away SQLite database, never
on the one the environment points at; every search answers what it should."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = (
    "whole key",
    "whole key, lower case without dashes",
    "first 5 symbols of a key",
    "machine name",
    "machine name prefix (many keys)",
    "account name",
    "site name",
    "MSP name",
    "nothing matches",
)


def test_the_search_bench_runs_end_to_end_on_a_throw_away_database(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KEYLEDGER_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'real.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench.search", "--keys", "300", "--msps", "6", "--runs", "2", "--plans"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("Keyledger search bench on sqlite: 300 keys, 6 MSPs, 4 distributors")
    assert out.count("baseline, the search page with no query") == 2
    for case in CASES:
        assert len(re.findall(rf"^  {re.escape(case)} +\d", out, re.MULTILINE)) == 2, case
    assert out.count("opens key_detail") >= 6  # the whole key, either spelling, the machine name
    # The keys are found through their indexes, not a scan of the table.
    assert "USING INDEX sqlite_autoindex_keys_productkey_1 (key>? AND key<?)" in out
    assert "USING INDEX key_machine_name_search (<expr>>? AND <expr><?)" in out  # the distributor
    assert "USING INDEX key_msp_machine_name_search (msp_id=? AND <expr>>? AND <expr><?)" in out  # the MSP
    assert "SCAN keys_productkey" not in out
    assert list(tmp_path.iterdir()) == []  # the data directory of the environment is untouched
