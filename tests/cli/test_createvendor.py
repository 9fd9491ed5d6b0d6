from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from keyledger.audit.models import AuditEntry
from keyledger.organisations.models import Organisation, User


def test_a_new_installation_gets_its_vendor_then_its_first_staff_login(db, monkeypatch):
    out = StringIO()
    call_command("createvendor", "Acme Software", stdout=out)
    vendor = Organisation.objects.get()
    assert (vendor.kind, vendor.name, vendor.parent, vendor.path) == (
        "vendor",
        "Acme Software",
        None,
        f"/{vendor.pk}/",
    )
    assert vendor.has_portal_access
    assert "Created the vendor organisation “Acme Software”." in out.getvalue()
    assert AuditEntry.objects.filter(action="organisation.create_vendor", channel="cli").count() == 1

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long staff password 7")
    call_command("createsuperuser", "--no-input", "--email", "Staff@Acme.example", stdout=StringIO())
    staff = User.objects.get()
    assert (staff.email, staff.organisation, staff.is_staff, staff.is_superuser) == (
        "staff@acme.example",
        vendor,
        True,
        True,
    )
    assert staff.check_password("a long staff password 7")


def test_there_is_only_one_vendor(db):
    call_command("createvendor", "Acme Software", stdout=StringIO())
    with pytest.raises(CommandError, match=r"The vendor organisation already exists\."):
        call_command("createvendor", "Other Software", stdout=StringIO())
    assert Organisation.objects.count() == 1


def test_the_vendor_needs_a_name(db):
    with pytest.raises(CommandError, match=r"Give the vendor a name\."):
        call_command("createvendor", "  ", stdout=StringIO())
    assert not Organisation.objects.exists()
