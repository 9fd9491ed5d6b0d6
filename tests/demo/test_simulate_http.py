"""The simulator against a live server, over HTTP. (In a file of its own: a live-server
test empties every table when it ends, so it runs with the other transactional tests.)"""

import importlib
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.cache import cache
from django.utils import timezone

from keyledger.demo.simulate import simulate
from tests.demo.helpers import small_demo
from tests.demo.test_simulate import simulated_keys


@pytest.fixture(autouse=True)
def catalog(transactional_db):
    """The default catalog, as the migrations install it (an earlier live-server test may have
    emptied its table)."""
    migration = importlib.import_module("keyledger.keys.migrations.0002_default_catalog")
    migration.install_catalog(apps, None)


def test_today_over_http_with_signed_answers(live_server):
    small_demo()
    out = StringIO()
    result = simulate(machines=4, days=3, url=live_server.url, seed=5, stream=out)
    assert result.answers == {"200 active": 4}
    assert result.unverified == 0
    assert f"Calling home over HTTP ({live_server.url})" in out.getvalue()
    now = timezone.now()
    for key in simulated_keys():
        assert key.state == "ok"
        assert now - key.last_call_home_at < timedelta(minutes=1)


def test_rate_limited_calls_wait_and_try_again(live_server, settings):
    small_demo()
    settings.KEYLEDGER_RATE_LIMIT_PER_IP = 2
    cache.clear()
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        cache.clear()  # the window has passed

    # The simulator's own look-up of the signing key counts as the first request.
    result = simulate(machines=3, days=0, url=live_server.url, seed=3, stream=StringIO(), sleep=sleep)
    assert result.answers == {"200 active": 3}
    assert len(waits) == 1 and 1 <= waits[0] <= 60
    assert set(simulated_keys().values_list("state", flat=True)) == {"ok"}
