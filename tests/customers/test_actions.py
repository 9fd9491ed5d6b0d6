import pytest
from django.core.exceptions import ValidationError

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.customers import actions
from keyledger.customers.models import Account, NamedQuerySet, Site


@pytest.fixture
def actor(tree) -> Actor:
    return Actor(user=tree.msp_a1_admin, ip="192.0.2.7")


def field_errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- accounts ---------------------------------------------------------------------------


def test_create_account_saves_and_audits(tree, actor):
    account = actions.create_account(
        msp=tree.msp_a1, name="  Echo   Clinic ", address=" 1 High St \n", notes="VIP", actor=actor
    )

    account.refresh_from_db()
    assert (account.msp, account.name, account.address, account.notes) == (
        tree.msp_a1,
        "Echo Clinic",
        "1 High St",
        "VIP",
    )
    entry = AuditEntry.objects.get(action="account.create")
    assert entry.organisation == tree.msp_a1
    assert entry.organisation_path == tree.msp_a1.path
    assert entry.object_id == str(account.pk)
    assert entry.actor_user == tree.msp_a1_admin
    assert entry.ip_address == "192.0.2.7"
    assert entry.changes == {"name": "Echo Clinic", "address": "1 High St", "notes": "VIP"}


@pytest.mark.parametrize("name", ["Alpha Dental", "alpha dental", "ALPHA DENTAL", "  Alpha   Dental  "])
def test_account_name_is_unique_within_its_msp_ignoring_case(tree, actor, name):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_account(msp=tree.msp_a1, name=name, actor=actor)

    assert "already has an account named" in field_errors(excinfo)["name"][0]
    assert Account.objects.filter(msp=tree.msp_a1).count() == 1
    assert not AuditEntry.objects.filter(action="account.create").exists()


def test_another_msp_may_use_the_same_account_name(tree, actor):
    account = actions.create_account(msp=tree.msp_a2, name="alpha dental", actor=actor)

    assert account.msp == tree.msp_a2


def test_account_name_is_required(tree, actor):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_account(msp=tree.msp_a1, name="   ", actor=actor)

    assert field_errors(excinfo)["name"] == ["Enter the Account Name."]


def test_account_name_length_is_limited(tree, actor):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_account(msp=tree.msp_a1, name="x" * 201, actor=actor)

    assert "at most 200" in field_errors(excinfo)["name"][0]


def test_accounts_belong_to_msps_only(tree, actor):
    with pytest.raises(ValidationError, match="Accounts belong to an MSP"):
        actions.create_account(msp=tree.dist_a, name="Misplaced", actor=actor)

    assert not Account.objects.filter(name="Misplaced").exists()


def test_update_account_saves_the_changed_fields_and_audits_the_difference(tree, actor):
    account = actions.update_account(
        account=tree.account_a1, name="Alpha Dental Group", address="", notes="Call Ann", actor=actor
    )

    account.refresh_from_db()
    assert (account.name, account.notes) == ("Alpha Dental Group", "Call Ann")
    entry = AuditEntry.objects.get(action="account.update")
    assert entry.organisation == tree.msp_a1
    assert entry.changes == {"name": ["Alpha Dental", "Alpha Dental Group"], "notes": ["", "Call Ann"]}


def test_an_account_may_change_the_case_of_its_own_name(tree, actor):
    account = actions.update_account(
        account=tree.account_a1, name="ALPHA DENTAL", address="", notes="", actor=actor
    )

    assert account.name == "ALPHA DENTAL"


def test_update_account_refuses_another_accounts_name(tree, actor):
    Account.objects.create(msp=tree.msp_a1, name="Foxtrot Bakery")

    with pytest.raises(ValidationError) as excinfo:
        actions.update_account(
            account=tree.account_a1, name="foxtrot BAKERY", address="", notes="", actor=actor
        )

    assert "already has an account named" in field_errors(excinfo)["name"][0]
    tree.account_a1.refresh_from_db()
    assert tree.account_a1.name == "Alpha Dental"


def test_update_account_without_changes_writes_nothing(tree, actor):
    actions.update_account(account=tree.account_a1, name="Alpha Dental", address="", notes="", actor=actor)

    assert not AuditEntry.objects.exists()


def test_create_account_is_atomic(tree, actor, monkeypatch):
    def audit_fails(**kwargs):
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(actions, "record", audit_fails)

    with pytest.raises(RuntimeError):
        actions.create_account(msp=tree.msp_a1, name="Golf Club", actor=actor)

    assert not Account.objects.filter(name="Golf Club").exists()


def test_a_name_taken_between_check_and_write_is_a_field_error(tree, actor, monkeypatch):
    # Another request may take the name after our check; the constraint catches it.
    monkeypatch.setattr(NamedQuerySet, "named", lambda self, name: self.none())

    with pytest.raises(ValidationError) as excinfo:
        actions.create_account(msp=tree.msp_a1, name="alpha dental", actor=actor)
    with pytest.raises(ValidationError) as site_excinfo:
        actions.create_site(account=tree.account_a1, name="ALPHA DENTAL MAIN STREET", actor=actor)

    assert "already has an account named" in field_errors(excinfo)["name"][0]
    assert "already has a site named" in field_errors(site_excinfo)["name"][0]
    # The transaction is still usable after the refused write (PostgreSQL aborts it otherwise).
    assert Account.objects.filter(msp=tree.msp_a1).count() == 1
    assert not AuditEntry.objects.exists()


# --- sites ------------------------------------------------------------------------------


def test_create_site_saves_and_audits(tree, actor):
    site = actions.create_site(
        account=tree.account_a1, name="Alpha Dental Annex", notes="2nd floor", actor=actor
    )

    site.refresh_from_db()
    assert (site.account, site.name, site.notes) == (tree.account_a1, "Alpha Dental Annex", "2nd floor")
    entry = AuditEntry.objects.get(action="site.create")
    assert entry.organisation == tree.msp_a1
    assert entry.object_id == str(site.pk)
    assert entry.changes["account"] == [tree.account_a1.pk, "Alpha Dental"]
    assert entry.changes["name"] == "Alpha Dental Annex"


@pytest.mark.parametrize(
    "name", ["Alpha Dental Main Street", "alpha dental main street", "ALPHA DENTAL MAIN STREET"]
)
def test_site_name_is_unique_within_its_account_ignoring_case(tree, actor, name):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_site(account=tree.account_a1, name=name, actor=actor)

    assert "already has a site named" in field_errors(excinfo)["name"][0]
    assert tree.account_a1.sites.count() == 1


def test_another_account_may_use_the_same_site_name(tree, actor):
    other = Account.objects.create(msp=tree.msp_a1, name="Hotel Group")

    site = actions.create_site(account=other, name="Alpha Dental Main Street", actor=actor)

    assert site.account == other


def test_site_name_is_required(tree, actor):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_site(account=tree.account_a1, name="", actor=actor)

    assert field_errors(excinfo)["name"] == ["Enter the Site Name."]


def test_update_site_without_moving_is_audited_as_update(tree, actor):
    site = actions.update_site(
        site=tree.site_a1,
        name="Alpha Dental Main St",
        account=tree.account_a1,
        address="12 Main St",
        notes="",
        actor=actor,
    )

    site.refresh_from_db()
    assert (site.name, site.address, site.account) == ("Alpha Dental Main St", "12 Main St", tree.account_a1)
    entry = AuditEntry.objects.get()
    assert entry.action == "site.update"
    assert entry.changes == {
        "name": ["Alpha Dental Main Street", "Alpha Dental Main St"],
        "address": ["", "12 Main St"],
    }


def test_choosing_another_account_of_the_msp_moves_the_site(tree, actor):
    target = Account.objects.create(msp=tree.msp_a1, name="India Partners")

    site = actions.update_site(
        site=tree.site_a1, name=tree.site_a1.name, account=target, address="", notes="", actor=actor
    )

    site.refresh_from_db()
    assert site.account == target
    assert list(tree.account_a1.sites.all()) == []
    entry = AuditEntry.objects.get()
    assert entry.action == "site.move"
    assert entry.organisation == tree.msp_a1
    assert entry.changes == {"account": [[tree.account_a1.pk, "Alpha Dental"], [target.pk, "India Partners"]]}


def test_a_site_cannot_move_to_an_account_of_another_msp(tree, actor):
    with pytest.raises(ValidationError) as excinfo:
        actions.update_site(
            site=tree.site_a1,
            name=tree.site_a1.name,
            account=tree.account_a2,
            address="",
            notes="",
            actor=actor,
        )

    assert field_errors(excinfo)["account"] == ["Choose one of this MSP's accounts."]
    tree.site_a1.refresh_from_db()
    assert tree.site_a1.account == tree.account_a1
    assert not AuditEntry.objects.exists()


def test_a_site_cannot_move_next_to_a_site_of_the_same_name(tree, actor):
    target = Account.objects.create(msp=tree.msp_a1, name="Juliet Retail")
    Site.objects.create(account=target, name="alpha dental main street")

    with pytest.raises(ValidationError) as excinfo:
        actions.update_site(
            site=tree.site_a1, name=tree.site_a1.name, account=target, address="", notes="", actor=actor
        )

    assert "Account “Juliet Retail” already has a site named" in field_errors(excinfo)["name"][0]
    tree.site_a1.refresh_from_db()
    assert tree.site_a1.account == tree.account_a1


def test_a_site_may_change_the_case_of_its_own_name(tree, actor):
    site = actions.update_site(
        site=tree.site_a1,
        name="ALPHA DENTAL MAIN STREET",
        account=tree.account_a1,
        address="",
        notes="",
        actor=actor,
    )

    assert site.name == "ALPHA DENTAL MAIN STREET"


def test_update_site_without_changes_writes_nothing(tree, actor):
    actions.update_site(
        site=tree.site_a1, name=tree.site_a1.name, account=tree.account_a1, address="", notes="", actor=actor
    )

    assert not AuditEntry.objects.exists()


def test_moving_a_site_is_atomic(tree, actor, monkeypatch):
    target = Account.objects.create(msp=tree.msp_a1, name="Kilo Labs")

    def audit_fails(**kwargs):
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(actions, "record", audit_fails)

    with pytest.raises(RuntimeError):
        actions.update_site(
            site=tree.site_a1, name="Renamed", account=target, address="", notes="", actor=actor
        )

    tree.site_a1.refresh_from_db()
    assert (tree.site_a1.account, tree.site_a1.name) == (tree.account_a1, "Alpha Dental Main Street")
