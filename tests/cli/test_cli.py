"""The `keyledger` command as a user types it: a fresh process on a fresh SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def keyledger(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "DEBUG": "1", "KEYLEDGER_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-c", "from keyledger.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("words", [[], ["help"], ["--help"]])
def test_help_lists_keyledgers_own_commands_first(tmp_path, words):
    result = keyledger(*words, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Keyledger commands:")
    ours = out[: out.index("Django's own commands follow.")]
    assert "    demo " in ours
    assert "    serve " in ours and "granian" in ours
    assert "    devserver " in ours and "runserver" in ours
    assert "    migrate " not in ours
    assert out.index("[django]") > out.index("Django's own commands follow.")


def test_help_on_devserver_is_the_help_of_runserver(tmp_path):
    result = keyledger("help", "devserver", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "addrport" in result.stdout


def test_help_on_serve_lists_the_production_servers_options(tmp_path):
    result = keyledger("serve", "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    for option in ("--processes", "--threads", "--pool-size", "--grace", "ADDRESS:PORT"):
        assert option in result.stdout


def test_demo_on_a_fresh_database_then_again_then_refused_on_other_data(tmp_path):
    assert keyledger("migrate", "--no-input", "-v", "0", data_dir=tmp_path).returncode == 0

    first = keyledger("demo", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Loaded the demo data." in first.stdout
    assert "Sign in at http://127.0.0.1:8000/login/" in first.stdout

    second = keyledger("demo", data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already loaded; nothing was changed" in second.stdout

    other = tmp_path / "other"
    assert keyledger("migrate", "--no-input", "-v", "0", data_dir=other).returncode == 0
    made = keyledger(
        "shell",
        "-c",
        "from keyledger.organisations.models import Organisation as O; O.objects.create(kind='vendor', name='Acme Corp')",
        data_dir=other,
    )
    assert made.returncode == 0, made.stderr
    refused = keyledger("demo", data_dir=other)
    assert refused.returncode == 1
    assert refused.stderr.startswith("CommandError: The database holds organisations the demo did not create")
    assert refused.stdout == ""
    count = keyledger(
        "shell",
        "-c",
        "from keyledger.organisations.models import User; print(User.objects.count())",
        data_dir=other,
    )
    assert count.stdout.strip().splitlines()[-1] == "0"


def bare_keyledger(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """The command with no SECRET_KEY, no DEBUG, no ALLOWED_HOSTS: a production shell, unconfigured."""
    env = {"PATH": os.environ.get("PATH", ""), "KEYLEDGER_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-c", "from keyledger.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_an_unconfigured_command_says_what_is_missing_in_one_line(tmp_path):
    result = bare_keyledger("migrate", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("keyledger: SECRET_KEY is not set.")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "keyledger.sqlite3").exists()


def test_migrations_are_checked_without_inventing_a_secret(tmp_path):
    result = bare_keyledger("makemigrations", "--check", "--dry-run", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_the_deploy_check_still_demands_a_real_secret(tmp_path):
    result = bare_keyledger("check", "--deploy", data_dir=tmp_path)
    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr
