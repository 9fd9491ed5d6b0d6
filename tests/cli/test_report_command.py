"""`keyledger report billing|activation`: a table on the terminal, or the portal's CSV file
byte for byte, in the billing time zone the portal uses; --msp by exact name or id."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from keyledger.testing.tree import make_org
from tests.reports.conftest import NOW, build_prices, build_world


@pytest.fixture
def world(tree):
    with time_machine.travel(NOW, tick=False):
        yield build_world(tree)


@pytest.fixture
def prices(world):
    return build_prices(world)


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


def portal_csv(user, name: str, query: str) -> bytes:
    browser = Client()
    browser.force_login(user)
    response = browser.get(f"{reverse(f'portal:{name}')}?{query}")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_billing_csv_is_the_portals_file_byte_for_byte(world, prices, tmp_path):
    t = world.tree
    target = tmp_path / "november.csv"
    assert report("billing", "--month", "2026-11", "--csv", str(target)) == f"Wrote 5 rows to {target}.\n"
    # Vendor staff on what MSPs are charged, the whole tree; and a distributor's view of its own.
    assert target.read_bytes() == portal_csv(
        t.vendor_admin, "reports_billing_csv", "month=2026-11&prices=msp"
    )
    report("billing", "--month", "2026-11", "--msp", "Acme IT", "--csv", str(target))
    assert target.read_bytes() == portal_csv(
        t.dist_a_admin, "reports_billing_csv", f"month=2026-11&msp={t.msp_a1.pk}"
    )


def test_activation_csv_is_the_portals_file_byte_for_byte(world, tmp_path):
    t = world.tree
    target = tmp_path / "activations.csv"
    report(
        "activation", "--start", "2026-10-01", "--end", "2026-12-10", "--product", "spmsp", "gre",
        "--msp", str(t.msp_a1.pk), "--csv", str(target),
    )  # fmt: skip
    query = f"start=2026-10-01&end=2026-12-10&product=spmsp&product=gre&msp={t.msp_a1.pk}"
    assert target.read_bytes() == portal_csv(t.msp_a1_admin, "reports_activation_csv", query)
    whole = tmp_path / "all.csv"
    report("activation", "--start", "2020-01-01", "--end", "2026-12-31", "--csv", str(whole))
    assert whole.read_bytes() == portal_csv(
        t.vendor_admin, "reports_activation_csv", "start=2020-01-01&end=2026-12-31"
    )


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Pacific/Kiritimati"])
def test_both_honour_the_billing_time_zone_as_the_portal_does(world, prices, settings, tmp_path, zone):
    t = world.tree
    settings.KEYLEDGER_BILLING_TIME_ZONE = zone
    target = tmp_path / "zone.csv"
    report("billing", "--month", "2026-11", "--csv", str(target))
    assert target.read_bytes() == portal_csv(
        t.vendor_admin, "reports_billing_csv", "month=2026-11&prices=msp"
    )
    report("activation", "--start", "2026-11-17", "--end", "2026-11-17", "--csv", str(target))
    in_zone = target.read_bytes()
    assert in_zone == portal_csv(t.vendor_admin, "reports_activation_csv", "start=2026-11-17&end=2026-11-17")
    settings.KEYLEDGER_BILLING_TIME_ZONE = "UTC"
    report("activation", "--start", "2026-11-17", "--end", "2026-11-17", "--csv", str(target))
    # The key activated on 18 November at 00:00 UTC: 17 November in New York (19:00), the 18th
    # in UTC, Berlin and Kiritimati.
    assert (world.short.key.encode() in in_zone) == (zone == "America/New_York")
    assert world.short.key.encode() not in target.read_bytes()


def test_without_csv_a_readable_table(world, prices):
    out = report("billing", "--month", "2026-11", "--msp", "Acme IT")
    lines = out.splitlines()
    assert lines[0] == "Billing Detail Report · Acme IT · November 2026 (provisional) · billing time zone UTC"
    assert lines[2].split()[:3] == ["MSP", "Product", "Key"]
    assert set(lines[3]) <= {"-", " "}
    assert any(world.twice.key in line and "25.00" in line and "Yes" in line for line in lines)
    assert lines[-1] == "3 rows. 3 keys, 2 billable; 50.00 EUR."
    out = report("activation", "--start", "2026-11-01", "--end", "2026-11-30")
    assert "Activation Report · All MSPs · 2026-11-01 to 2026-11-30" in out and out.endswith("6 rows.\n")
    assert world.dingo.key in out  # the whole tree


def test_csv_to_standard_output(world, capfdbinary):
    call_command("report", "activation", "--start", "2026-11-01", "--end", "2026-11-30", "--csv", "-")
    data = capfdbinary.readouterr().out
    assert data == portal_csv(
        world.tree.vendor_admin, "reports_activation_csv", "start=2026-11-01&end=2026-11-30"
    )


def test_an_ambiguous_msp_name_lists_the_ids(world):
    t = world.tree
    twin = make_org(parent=t.dist_b, kind="msp", name="Acme IT")
    with pytest.raises(CommandError) as caught:
        report("billing", "--month", "2026-11", "--msp", "Acme IT")
    message = str(caught.value)
    assert "2 MSPs match 'Acme IT'; give one of their ids:" in message
    assert f"  {t.msp_a1.pk}: Acme IT (Northwind Distribution)" in message
    assert f"  {twin.pk}: Acme IT (Southgate Supply)" in message
    assert "Acme IT" in report("billing", "--month", "2026-11", "--msp", str(twin.pk)).splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["billing", "--month", "2027-01"], "--month: January 2027 has not begun yet"),
        (["billing", "--month", "11/2026"], "--month: Enter a month as YYYY-MM"),
        (["billing", "--month", "2026-11", "--msp", "Nobody"], "No MSP is named 'Nobody'"),
        (["billing", "--month", "2026-11", "--msp", "Northwind Distribution"], "No MSP is named"),
        (
            ["activation", "--start", "2026-12-01", "--end", "2026-11-01"],
            "--end: The End Date cannot be before",
        ),
        (
            ["activation", "--start", "2026-02-30", "--end", "2026-03-01"],
            "--start: Enter a date as YYYY-MM-DD",
        ),
        (
            ["activation", "--start", "2026-11-01", "--end", "2026-11-30", "--product", "cloud"],
            "--product: No product 'cloud'",
        ),
    ],
)
def test_bad_input_is_a_clear_error(world, tmp_path, args, message):
    target = tmp_path / "never.csv"
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        report(*args, "--csv", str(target))
    assert not target.exists()


def test_the_command_as_typed_in_a_fresh_process(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "DEBUG": "1", "KEYLEDGER_DATA_DIR": str(tmp_path)}

    def keyledger(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from keyledger.cli import main; main()", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert "report" in keyledger("help").stdout
    assert keyledger("migrate", "--no-input", "-v", "0").returncode == 0
    refused = keyledger("report", "billing", "--month", "2026-11")
    assert refused.returncode == 1 and "createvendor" in refused.stderr
    env["KEYLEDGER_BILLING_TIME_ZONE"] = "Mars/Olympus"
    wrong = keyledger("report", "billing", "--month", "2026-11")
    assert wrong.returncode != 0 and "KEYLEDGER_BILLING_TIME_ZONE" in wrong.stderr
