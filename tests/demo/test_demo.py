from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Account, Site
from keyledger.demo import data
from keyledger.organisations.actions import find_invitation
from keyledger.organisations.models import Invitation, Organisation, TermsAcceptance, User
from keyledger.organisations.queries import must_accept_terms
from keyledger.organisations.roles import Role
from keyledger.testing.tree import make_user

Access = Organisation.PortalAccess


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Rows of every Keyledger model: what "nothing was written" is measured against."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"organisations", "audit", "customers", "keys", "api"}
    }


@pytest.fixture
def demo(db) -> str:
    return run_demo()


def test_the_demo_channel(demo):
    vendor = Organisation.objects.get(kind=Organisation.Kind.VENDOR)
    northwind = Organisation.objects.get(name="Northwind Distribution")
    southgate = Organisation.objects.get(name="Southgate Supply")
    assert vendor.name == "Keyledger Demo Vendor"
    assert (northwind.parent, northwind.region, northwind.may_invite_msps) == (vendor, "EMEA", True)
    assert (southgate.parent, southgate.region, southgate.may_invite_msps) == (vendor, "APAC", False)
    msps = {msp.name: msp for msp in Organisation.objects.filter(kind=Organisation.Kind.MSP)}
    assert {name: (msp.parent.name, msp.portal_access, msp.region) for name, msp in msps.items()} == {
        "Acme IT Services": ("Northwind Distribution", Access.ACTIVE, "EMEA"),
        "Bluebird Managed IT": ("Northwind Distribution", Access.ACTIVE, "EMEA"),
        "Cobalt Systems": ("Northwind Distribution", Access.NONE, "EMEA"),
        "Harbour Tech": ("Northwind Distribution", Access.INVITED, "EMEA"),
        "Fjord Consulting": ("Northwind Distribution", Access.WITHDRAWN, "EMEA"),
        "Dingo Networks": ("Southgate Supply", Access.NONE, "APAC"),
        "Emu Computing": ("Southgate Supply", Access.NONE, "APAC"),
    }
    assert all(org.path == org.build_path() for org in Organisation.objects.all())
    alpha = Account.objects.get(name="Alpha Dental")
    assert alpha.msp == msps["Acme IT Services"]
    assert list(alpha.sites.values_list("name", flat=True)) == ["Main Street Surgery", "Riverside Clinic"]
    assert Account.objects.get(name="Harlow Logistics").msp == msps["Cobalt Systems"]
    assert Site.objects.filter(account__msp__parent=southgate).count() == 2


def test_every_demo_login_works_with_the_demo_password(demo):
    listed = [person for person in data.people() if person.what]
    assert len(listed) == 6
    for person in listed:
        user = authenticate(email=person.email, password="keyledger-demo")
        assert user is not None, person.email
        assert user.email.endswith("@demo.keyledger.test")
    staff = User.objects.get(email="vendor@demo.keyledger.test")
    assert staff.is_staff and staff.is_superuser and staff.is_vendor_staff
    assert User.objects.get(email="msp@demo.keyledger.test").organisation.name == "Acme IT Services"
    assert User.objects.get(email="southgate@demo.keyledger.test").organisation.name == "Southgate Supply"
    assert User.objects.get(email="billing@demo.keyledger.test").role == Role.BILLING


def test_demo_users_came_through_their_invitations_and_accepted_the_terms(demo):
    outside_vendor = User.objects.exclude(organisation__kind=Organisation.Kind.VENDOR)
    # Everyone but vendor staff and Harbour Tech's admin (whose invitation is still waiting).
    assert outside_vendor.count() == len(data.people()) - 2
    for user in outside_vendor:
        assert Invitation.objects.filter(email=user.email, used_at__isnull=False).exists(), user
        assert TermsAcceptance.objects.filter(user=user).exists(), user
        assert not must_accept_terms(user), user
    assert not User.objects.get(email="fjord@demo.keyledger.test").may_sign_in
    assert Invitation.objects.get(email="harbour@demo.keyledger.test").used_at is None
    assert not User.objects.filter(email="harbour@demo.keyledger.test").exists()


def test_the_demo_is_audited_as_the_people_who_would_have_done_it(demo):
    entries = AuditEntry.objects.all()
    assert (
        entries.filter(
            action="organisation.create_distributor", actor_label="vendor@demo.keyledger.test"
        ).count()
        == 2
    )
    assert (
        entries.filter(
            action="organisation.invite_msp", actor_label="distributor@demo.keyledger.test"
        ).count()
        == 4
    )
    assert (
        entries.filter(action="organisation.create_msp", actor_label="southgate@demo.keyledger.test").count()
        == 2
    )
    assert entries.filter(action="account.create", actor_label="msp@demo.keyledger.test").count() == 3
    assert entries.filter(action="invitation.accept").count() == 6
    assert set(entries.values_list("channel", flat=True)) == {"cli"}


def test_the_output_lists_the_logins_and_the_url(demo):
    assert "Loaded the demo data." in demo
    assert "password for all: keyledger-demo" in demo
    for email in ("vendor", "distributor", "southgate", "msp"):
        assert f"  {email}@demo.keyledger.test " in demo
    assert "fjord@" not in demo  # locked out: not offered as a login
    assert "Sign in at http://127.0.0.1:8000/login/" in demo
    waiting = next(line for line in demo.splitlines() if "Harbour Tech" in line)
    token = waiting.rsplit("/invitations/", 1)[1].strip("/")
    assert find_invitation(token).email == "harbour@demo.keyledger.test"


def test_running_it_again_changes_nothing(demo):
    before = row_counts()
    second = run_demo()
    assert "The demo data is already loaded; nothing was changed." in second
    assert "msp@demo.keyledger.test" in second
    assert "Harbour Tech" not in second
    assert row_counts() == before


def test_running_it_again_after_using_the_demo_is_fine(demo):
    make_user(Organisation.objects.get(name="Acme IT Services"), "second@demo.keyledger.test")
    assert "already loaded" in run_demo()


def test_refused_on_a_database_with_other_data(tree):
    before = row_counts()
    with pytest.raises(CommandError, match=r"holds \d+ user\(s\) outside @demo.keyledger.test"):
        run_demo()
    assert row_counts() == before
    assert not Organisation.objects.filter(name="Keyledger Demo Vendor").exists()


def test_refused_once_a_real_user_joined_the_demo(demo):
    make_user(Organisation.objects.get(name="Acme IT Services"), "someone@example.com")
    before = row_counts()
    with pytest.raises(CommandError, match=r"e\.g\. someone@example\.com"):
        run_demo()
    assert row_counts() == before


def test_refused_under_another_vendor_even_without_users(db):
    Organisation.objects.create(kind=Organisation.Kind.VENDOR, name="Real Vendor Ltd")
    before = row_counts()
    with pytest.raises(CommandError, match="organisations the demo did not create"):
        run_demo()
    assert row_counts() == before
