"""The settings module read from a controlled environment, in a fresh interpreter each time:
a misconfigured machine must stop at start-up with an error naming the variable at fault."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password

import keyledger.settings as settings_module

PRODUCTION = {
    "SECRET_KEY": "a-long-random-production-secret-key-" + "q7Zx" * 10,
    "ALLOWED_HOSTS": "keyledger.example.com",
    # An unreachable host: the deploy checks read the settings, they do not connect.
    "DATABASE_URL": "postgres://keyledger@db.invalid:5432/keyledger",
    "EMAIL_HOST": "smtp.example.com",
}


def run(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run Python code with only `env` (plus PATH and a data directory) in the environment."""
    full_env = {"PATH": os.environ.get("PATH", ""), "KEYLEDGER_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def load_settings(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run("import keyledger.settings", env, tmp_path)


def keyledger(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run(f"from keyledger.cli import main; main(['keyledger', *{args!r}])", env, tmp_path)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0, result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:"), result.stderr
    for word in words:
        assert word in last_line, last_line


def test_production_without_secret_key_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    assert_refused(load_settings(env, tmp_path), "SECRET_KEY is not set", "DEBUG=1")


def test_production_without_allowed_hosts_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "ALLOWED_HOSTS"}
    assert_refused(load_settings(env, tmp_path), "ALLOWED_HOSTS is not set")


def test_development_needs_neither_secret_key_nor_hosts(tmp_path):
    result = run(
        "from keyledger import settings as s; print(s.DEBUG, len(s.SECRET_KEY) >= 50, s.ALLOWED_HOSTS)",
        {"DEBUG": "1"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(maxsplit=2) == ["True", "True", "['127.0.0.1', 'localhost']"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be one of 1/0, true/false, yes/no, on/off; got 'maybe'"),
        ("SECURE_SSL_REDIRECT", "2", "SECURE_SSL_REDIRECT must be one of"),
        ("BEHIND_PROXY", "enabled", "BEHIND_PROXY must be one of"),
        ("KEYLEDGER_CRITICAL_HOURS", "three days", "KEYLEDGER_CRITICAL_HOURS must be a whole number"),
        ("KEYLEDGER_INVITATION_DAYS", "0", "KEYLEDGER_INVITATION_DAYS must be at least 1; got 0"),
        ("SECURE_HSTS_SECONDS", "-1", "SECURE_HSTS_SECONDS must be at least 0"),
        ("DATABASE_CONN_MAX_AGE", "1.5", "DATABASE_CONN_MAX_AGE must be a whole number"),
        ("KEYLEDGER_BILLING_TIME_ZONE", "Mars/Olympus", "KEYLEDGER_BILLING_TIME_ZONE is not a time zone"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path, name, value, message):
    assert_refused(load_settings(PRODUCTION | {name: value}, tmp_path), message)


def test_a_bad_email_port_names_its_variable(tmp_path):
    assert_refused(
        load_settings(PRODUCTION | {"EMAIL_PORT": "smtp"}, tmp_path), "EMAIL_PORT must be a whole number"
    )


@pytest.mark.parametrize(
    "url", ["nonsense://somewhere/db", "localhost:5432/keyledger", "postgres://u@h:port/db"]
)
def test_a_bad_database_url_is_refused(tmp_path, url):
    assert_refused(
        load_settings(PRODUCTION | {"DATABASE_URL": url}, tmp_path), "DATABASE_URL is not a database URL"
    )


def test_a_bad_database_url_does_not_leak_its_password(tmp_path):
    result = load_settings(PRODUCTION | {"DATABASE_URL": "postgres://u:hunter2-secret@h:port/db"}, tmp_path)
    assert_refused(result, "DATABASE_URL")
    assert "hunter2-secret" not in result.stderr


def test_production_settings_pass_the_deploy_checks(tmp_path):
    result = keyledger(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_without_smtp_fails_the_deploy_checks(tmp_path):
    # On purpose: invitations are the only way in, so a production that prints its email
    # to the console instead of sending it is misconfigured.
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_HOST"}
    result = keyledger(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode != 0
    assert "mail.E001" in result.stderr


def test_production_security_settings(tmp_path):
    result = run(
        "from keyledger import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_PROXY_SSL_HEADER, s.X_FRAME_OPTIONS)",
        PRODUCTION,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "True", "None", "DENY"]


def test_behind_a_proxy_the_forwarded_scheme_is_trusted(tmp_path):
    result = run(
        "from keyledger import settings as s; print(s.SECURE_PROXY_SSL_HEADER)",
        PRODUCTION | {"BEHIND_PROXY": "1"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"


WAL_PROBE = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    print(cursor.fetchone()[0], connection.settings_dict["NAME"])
"""


def test_the_default_sqlite_database_runs_in_wal_mode(tmp_path):
    result = run(WAL_PROBE, {"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "keyledger.settings"}, tmp_path)
    assert result.returncode == 0, result.stderr
    mode, name = result.stdout.split()
    assert mode == "wal"
    assert name == str(tmp_path / "keyledger.sqlite3")


def test_a_sqlite_database_url_runs_in_wal_mode_too(tmp_path):
    env = {"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "keyledger.settings"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    result = run(WAL_PROBE, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", str(tmp_path / "elsewhere.sqlite3")]


def test_argon2_is_the_first_password_hasher(settings):
    assert settings_module.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    # The test suite swaps in a fast hasher; put the real list back to see what a password becomes.
    settings.PASSWORD_HASHERS = settings_module.PASSWORD_HASHERS
    assert make_password("keyledger-demo").startswith("argon2$argon2id$")


@pytest.mark.django_db
def test_portal_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/login/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    # Scripts only from the portal itself, or inline ones carrying this response's nonce.
    first, *others = directives["script-src"].split()
    assert first == "'self'"
    assert all(source.startswith("'nonce-") for source in others)
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy


@pytest.mark.django_db
def test_https_responses_carry_hsts_and_the_other_security_headers(client):
    response = client.get("/login/", secure=True)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
