import itertools
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from keyledger.audit.models import AuditEntry
from keyledger.billing.engine import Scope, key_months
from keyledger.billing.models import PriceList, Statement
from keyledger.billing.months import Month
from keyledger.billing.statements import verify
from keyledger.customers.models import Account, Site
from keyledger.demo import data, history
from keyledger.keys.models import KeyEvent, ProductKey
from keyledger.organisations.actions import find_invitation
from keyledger.organisations.models import Invitation, Organisation, TermsAcceptance, User
from keyledger.organisations.queries import must_accept_terms
from keyledger.organisations.roles import Role
from keyledger.testing.tree import make_user
from tests.demo.helpers import row_counts, run_demo

Access = Organisation.PortalAccess


@pytest.fixture(scope="module")
def loaded_once(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module inside a transaction that is rolled back at its
    end; each test still rolls back its own changes. (Loading writes months of history.)"""
    # Module scope comes before the suite's per-test fast hasher: ask for it here too.
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast:
        outer = transaction.atomic()
        outer.__enter__()
        try:
            output = run_demo()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    yield output
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def demo(loaded_once, db) -> str:
    return loaded_once


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
    assert entries.filter(action="account.create", actor_label="msp@demo.keyledger.test").count() == 4
    assert entries.filter(action="invitation.accept").count() == 6
    # People through the command line; the products calling home; the sweeper of the worker.
    assert set(entries.values_list("channel", flat=True)) == {"cli", "product", "worker"}


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


def test_served_again_after_someone_outside_the_demo_domain_joined_it(demo):
    # Trying the demo includes inviting a real address and following the link.
    make_user(Organisation.objects.get(name="Acme IT Services"), "someone@example.com")
    before = row_counts()
    assert "already loaded" in run_demo()
    assert row_counts() == before


FINAL_STATE = {
    "steady": "ok",
    "established": "ok",
    "recent": "ok",
    "new": "ok",
    "unused": "unused",
    "critical": "critical",
    "offline": "critical",
    "deactivated": "deactivated",
    "reactivated": "ok",
    "deactivation_requested": "deactivation_requested",
    "reactivation_requested": "reactivation_requested",
    "edge_billable": "ok",
    "edge_not_billable": "ok",
    "edge_deactivated_14th": "deactivated",
    "edge_deactivated_15th": "deactivated",
}


def planned_keys() -> list[tuple[str, str, str]]:
    """(account, product, plan) of every key the demo describes."""
    return [
        (account.name, keys.product, plan)
        for distributor in data.DISTRIBUTORS
        for msp in distributor.msps
        for account in msp.accounts
        for keys in account.keys
        for plan in keys.plans
    ]


def test_every_plan_ends_in_its_state(demo):
    assert set(FINAL_STATE) == set(history.PLANS) | set(history.EDGES)
    expected = Counter((account, product, FINAL_STATE[plan]) for account, product, plan in planned_keys())
    actual = Counter(ProductKey.objects.values_list("account__name", "product__code", "state"))
    assert actual == expected
    assert set(ProductKey.objects.values_list("product__code", flat=True)) == {"spmsp", "imagemanager", "gre"}


def test_the_history_is_a_chain_of_events_in_time_order(demo):
    now = timezone.now()
    events = KeyEvent.objects.order_by("key_id", "at", "id").values_list(
        "key_id", "at", "old_state", "new_state", "cause"
    )
    by_key: dict[int, list] = {}
    for key_id, at, old, new, cause in events:
        by_key.setdefault(key_id, []).append((at, old, new, cause))
    assert len(by_key) == ProductKey.objects.count()
    for key in ProductKey.objects.all():
        chain = by_key[key.pk]
        assert chain[0][1:3] == ("", "unused"), key  # sourced first
        assert chain[0][0] == key.created_at
        for (_, _, before, _), (_, old, _, _) in itertools.pairwise(chain):
            assert old == before, (key, chain)
        assert chain[-1][2] == key.state
        assert all(at <= now for at, *_ in chain)
        if key.activated_at is not None:
            assert key.created_at < key.activated_at <= key.last_call_home_at <= now


def test_the_history_reaches_back_into_earlier_months(demo):
    now = timezone.now()
    oldest = KeyEvent.objects.order_by("at").first().at
    assert now - oldest > timedelta(days=80)
    deactivated = KeyEvent.objects.filter(new_state="deactivated", cause="call_home")
    assert deactivated.count() == 6  # 4 for good (2 either side of the 15th last month), 2 later reactivated
    assert KeyEvent.objects.filter(old_state="reactivation_requested", new_state="ok").count() == 1
    turned_critical = KeyEvent.objects.filter(new_state="critical", cause="sweeper")
    assert turned_critical.count() == 3
    # The sweeper found each one when its critical threshold had passed, not today.
    for event in turned_critical.select_related("key"):
        silent_for = event.at - event.key.last_call_home_at
        assert timedelta(hours=72) <= silent_for <= timedelta(hours=72 + 12)


def test_the_products_hold_what_they_report(demo):
    gre = ProductKey.objects.get(product__code="gre", account__name="Brightwater Legal")
    assert gre.fields == {
        "exchange_server_name": "BWL-EXCH01",
        "exchange_server_version": "Exchange Server 2019",
    }
    assert gre.machine_name == "BWL-EXCH01"
    manager = ProductKey.objects.get(product__code="imagemanager", account__name="Alpha Dental")
    assert manager.job_licenses == {"intelligentftp": 2, "shadowstream": 5, "headstart": 0}
    assert manager.jobs_in_use == {"intelligentftp": 1, "shadowstream": 2}
    assert set(
        ProductKey.objects.filter(product__code="spmsp")
        .exclude(state="unused")
        .values_list("edition", flat=True)
    ) == {
        "server",
        "desktop",
        "vm",
        "sbs",
    }


# ---------------------------------------------------------------- billing


def test_last_month_has_keys_either_side_of_the_billable_line(demo):
    last = Month.of(timezone.now()).previous
    dunmore = Account.objects.get(name="Dunmore Veterinary")
    rows = [r for r in key_months(last, Scope(path="/")) if r.account_id == dunmore.pk]
    assert sorted((r.active_days, r.billable) for r in rows) == [
        (14, False),
        (14, False),
        (15, True),
        (15, True),
    ]


def test_price_lists_and_statements(demo):
    lists = {
        (p.issuer.name, p.customer.name, p.currency)
        for p in PriceList.objects.select_related("issuer", "customer")
    }
    assert {
        ("Keyledger Demo Vendor", "Northwind Distribution", "EUR"),
        ("Northwind Distribution", "Acme IT Services", "EUR"),
        ("Northwind Distribution", "Bluebird Managed IT", "EUR"),
        ("Keyledger Demo Vendor", "Southgate Supply", "AUD"),
    } <= lists
    now = timezone.now()
    last = Month.of(now).previous
    by_month = Counter(Statement.objects.values_list("month", "status"))
    assert by_month[(last.first_day, "draft")] >= 4 and not by_month[(last.first_day, "final")]
    assert by_month[(last.previous.first_day, "final")] >= 4
    assert not Statement.objects.filter(month__lt=last.first_day, status="draft").exists()
    acme = Statement.objects.get(customer__name="Acme IT Services", month=last.first_day)
    assert acme.billable_count > 0 and acme.totals.get("EUR", 0) > 0
    assert all(verify(s) for s in Statement.objects.filter(status="final"))
