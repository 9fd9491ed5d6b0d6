from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.test import override_settings

from keyledger.customers.models import Account
from keyledger.demo import data
from keyledger.organisations.models import Organisation
from keyledger.testing.tree import make_org


def run_demo() -> str:
    """`keyledger demo`, as called from the command line; its output."""
    out = StringIO()
    with override_settings(DEBUG=True):  # what `make demo` runs with (tests run without)
        call_command("demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Rows of every Keyledger model: what "nothing was written" is measured against."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"organisations", "audit", "customers", "keys", "api"}
    }


def small_demo() -> Account:
    """Just enough of the demo for the simulator (the demo vendor, an MSP and an account),
    without writing months of history."""
    vendor = make_org(parent=None, kind=Organisation.Kind.VENDOR, name=data.VENDOR_NAME)
    distributor = make_org(parent=vendor, kind=Organisation.Kind.DISTRIBUTOR, name="Northwind Distribution")
    msp = make_org(parent=distributor, kind=Organisation.Kind.MSP, name="Acme IT Services")
    return Account.objects.create(msp=msp, name="Alpha Dental")
