"""The demo refuses a production configuration, and any database that holds something else
(and then writes nothing)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from keyledger.organisations.models import Organisation
from tests.demo.helpers import row_counts, run_demo


def test_refused_on_a_database_with_other_data(tree):
    before = row_counts()
    with pytest.raises(CommandError, match="organisations the demo did not create"):
        run_demo()
    assert row_counts() == before
    assert not Organisation.objects.filter(name="Keyledger Demo Vendor").exists()


def test_refused_under_another_vendor_even_without_users(db):
    Organisation.objects.create(kind=Organisation.Kind.VENDOR, name="Real Vendor Ltd")
    before = row_counts()
    with pytest.raises(CommandError, match="organisations the demo did not create"):
        run_demo()
    assert row_counts() == before


def test_refused_on_a_production_configuration(db):
    with pytest.raises(CommandError, match="The demo is for development machines"):
        call_command("demo", stdout=StringIO())
    assert not Organisation.objects.exists()
