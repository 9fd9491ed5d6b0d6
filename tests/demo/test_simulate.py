import itertools
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from keyledger.demo.load import DemoRefused
from keyledger.demo.progress import Progress
from keyledger.demo.simulate import simulate
from keyledger.keys.models import KeyEvent, ProductKey
from tests.demo.helpers import row_counts, small_demo


def simulated_keys():
    return ProductKey.objects.filter(machine_name__startswith="SIM-").order_by("machine_name")


def test_a_fleet_with_history_written_in_process(db):
    small_demo()
    result = simulate(machines=8, days=12, url=None, seed=7, stream=StringIO())
    now = timezone.now()
    assert len(result.machines) == 8
    assert result.history_calls >= 8
    keys = list(simulated_keys())
    assert [k.machine_name for k in keys] == [f"SIM-{n:05d}" for n in range(1, 9)]
    assert {k.state for k in keys} <= {"ok", "critical"}
    for key in keys:
        assert now - timedelta(days=12, hours=16) < key.created_at < key.activated_at <= key.last_call_home_at
        chain = list(
            KeyEvent.objects.filter(key=key).order_by("at", "id").values_list("old_state", "new_state")
        )
        assert chain[0] == ("", "unused")
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))
        if key.state == "ok":
            assert now - key.last_call_home_at < timedelta(hours=11)


def test_the_same_seed_plays_the_same_fleet_and_names_continue(db):
    small_demo()
    simulate(machines=5, days=4, url=None, seed=11, stream=StringIO())
    first = list(simulated_keys().values_list("product__code", "edition"))
    simulate(machines=5, days=4, url=None, seed=11, stream=StringIO())
    second = list(simulated_keys().values_list("product__code", "edition"))[5:]
    assert first == second
    assert simulated_keys().last().machine_name == "SIM-00010"


def test_refused_outside_the_demo(tree):
    before = row_counts()
    with pytest.raises(DemoRefused, match="runs only on the demo database"):
        simulate(machines=3, days=2, url=None, seed=1, stream=StringIO())
    assert row_counts() == before


def test_nothing_listening_is_a_clear_error(db):
    small_demo()
    with pytest.raises(CommandError, match=r"http://127\.0\.0\.1:9/api/v1/signing-key"):
        call_command("simulate", "--url", "http://127.0.0.1:9", stdout=StringIO())
    assert not ProductKey.objects.exists()


def test_the_command_reports_what_it_did(db):
    small_demo()
    out = StringIO()
    call_command("simulate", "--machines", "3", "--days", "2", "--seed", "4", stdout=out)
    assert "3 machine(s) added;" in out.getvalue()
    assert "History of 2 day(s) [" in out.getvalue()
    with pytest.raises(CommandError, match="--machines"):
        call_command("simulate", "--machines", "0", stdout=StringIO())


def test_the_progress_bar_writes_a_line_per_tenth_off_a_terminal():
    out = StringIO()
    bar = Progress("Calls", 20, stream=out, width=10)
    for _ in range(20):
        bar.advance()
    bar.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "Calls [..........] 1/20   5%"
    assert lines[-1] == "Calls [##########] 20/20 100%"
    assert len(lines) == 11
