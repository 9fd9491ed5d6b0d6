"""`keyledger callhome KEY`: one product calling home over HTTP to a running portal."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from keyledger.audit.actor import Actor
from keyledger.keys.actions import source_keys
from keyledger.keys.models import Product, ProductKey


@pytest.fixture
def key(tree) -> ProductKey:
    return source_keys(
        product=Product.objects.get(code="spmsp"),
        quantity=1,
        account=tree.account_a1,
        site=tree.site_a1,
        fields={},
        actor=Actor.system(),
    )[0]


def test_the_first_call_activates_the_key_and_binds_the_machine(live_server, key):
    out = StringIO()
    call_command(
        "callhome", key.key.lower(), url=live_server.url, edition="desktop", machine="FS01", stdout=out
    )
    key.refresh_from_db()
    assert key.state == ProductKey.State.OK
    assert (key.machine_name, key.edition) == ("FS01", "desktop")
    assert '"status": "active"' in out.getvalue()
    assert "Keyledger-Signature is valid" in out.getvalue()


def test_another_machine_is_refused_while_the_key_is_active(live_server, key):
    call_command("callhome", key.key, url=live_server.url, machine="FS01", stdout=StringIO())
    with pytest.raises(CommandError, match="key_in_use"):
        call_command("callhome", key.key, url=live_server.url, machine="OTHER", stdout=StringIO())
    key.refresh_from_db()
    assert key.machine_name == "FS01"


def test_no_server_is_a_clear_error(key):
    with pytest.raises(CommandError, match=r"127\.0\.0\.1:9"):
        call_command("callhome", key.key, url="http://127.0.0.1:9", stdout=StringIO())
