"""Two web processes sharing one Redis count the same wrong passwords: failures made through
one server lock the email on the other. Real servers (runserver) on two ports, a SQLite
file both use, and a key prefix of this test's own in Redis, removed afterwards."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from keyledger.testing.redis import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "two.servers@example.test"
PASSWORD = "two servers one lock"

SETUP_USER = f"""
import django
django.setup()
from keyledger.organisations.models import Organisation
from keyledger.testing.tree import make_org
from keyledger.organisations.models import User
vendor = make_org(parent=None, kind="vendor", name="Two Servers Vendor", portal_access="active")
User.objects.create_user({EMAIL!r}, {PASSWORD!r}, organisation=vendor)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_servers(tmp_path, redis_prefix):
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        "KEYLEDGER_DATA_DIR": str(tmp_path),
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": redis_prefix,
        "DJANGO_SETTINGS_MODULE": "keyledger.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    subprocess.run([python, "-c", SETUP_USER], cwd=ROOT, env=env, check=True, timeout=60)
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in urls:
            wait_until_up(url)
        yield urls
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/login/", timeout=2)  # noqa: S310 (a local test server)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not start")


class Browser:
    """One visitor of one server, with its own cookies."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def sign_in(self, email: str, password: str) -> tuple[int, str]:
        page = self.opener.open(self.base + "/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": email, "password": password})
        try:
            response = self.opener.open(self.base + "/login/", data.encode())
        except urllib.error.HTTPError as redirect:
            return redirect.code, ""
        return response.status, response.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_failures_through_one_server_lock_the_email_on_the_other(two_servers):
    first, second = (Browser(url) for url in two_servers)
    for _ in range(3):
        status, page = first.sign_in(EMAIL, "wrong password")
        assert status == 200 and "do not match" in page
    status, page = second.sign_in(EMAIL, "wrong password")
    assert status == 200 and "do not match" in page
    # The fifth failure, the second on this server: only a shared count locks here.
    status, page = second.sign_in(EMAIL, "wrong password")
    assert status == 200 and "Signing in is paused for 1 minute" in page
    # The lock holds on the first server too, even for the right password.
    status, page = first.sign_in(EMAIL, PASSWORD)
    assert status == 200 and "Signing in is paused" in page
    # An email without a login is counted across the servers just the same.
    for browser in (first, second, first, second):
        assert "do not match" in browser.sign_in("nobody@example.test", "x")[1]
    assert "Signing in is paused" in second.sign_in("nobody@example.test", "x")[1]
