"""The named organisation tree the tests share: a distributor, its MSPs, a sibling
distributor with its own MSP, and users of every role. Outsider tests use it to try
every URL as someone who must not see the object."""

from __future__ import annotations

from dataclasses import dataclass

from keyledger.customers.models import Account, Site
from keyledger.organisations.models import Organisation, TermsAcceptance, TermsVersion, User
from keyledger.organisations.naming import natural_sort_key
from keyledger.organisations.roles import Role

PASSWORD = "correct horse battery staple"  # noqa: S105 (test users only)
Kind = Organisation.Kind
Access = Organisation.PortalAccess


def make_org(*, parent: Organisation | None, kind: str, name: str, **fields) -> Organisation:
    org = Organisation.objects.create(
        parent=parent, kind=kind, name=name, sort_name=natural_sort_key(name), **fields
    )
    org.path = org.build_path()
    org.save(update_fields=["path"])
    return org


def make_account(msp: Organisation, name: str, **fields) -> Account:
    return Account.objects.create(msp=msp, name=name, sort_name=natural_sort_key(name), **fields)


def make_site(account: Account, name: str, **fields) -> Site:
    return Site.objects.create(account=account, name=name, sort_name=natural_sort_key(name), **fields)


def make_user(org: Organisation, email: str, role: str = Role.ADMIN, **fields) -> User:
    return User.objects.create_user(email, PASSWORD, organisation=org, role=role, **fields)


@dataclass
class Tree:
    vendor: Organisation
    vendor_admin: User
    dist_a: Organisation  # may invite MSPs
    dist_a_admin: User
    dist_a_member: User
    dist_a_billing: User
    dist_a_readonly: User
    msp_a1: Organisation  # with portal access
    msp_a1_admin: User
    msp_a1_member: User
    msp_a2: Organisation  # sibling MSP, with portal access
    msp_a2_admin: User
    msp_a3: Organisation  # without portal access, managed by dist_a
    dist_b: Organisation  # sibling distributor, may not invite
    dist_b_admin: User
    msp_b1: Organisation
    msp_b1_admin: User
    account_a1: Account
    site_a1: Site
    account_a2: Account
    site_a2: Site
    account_a3: Account
    account_b1: Account
    site_b1: Site
    terms: TermsVersion

    def users(self) -> list[User]:
        return [v for v in vars(self).values() if isinstance(v, User)]


def build_tree() -> Tree:
    vendor = make_org(parent=None, kind=Kind.VENDOR, name="Keyledger Vendor", portal_access=Access.ACTIVE)
    dist_a = make_org(
        parent=vendor,
        kind=Kind.DISTRIBUTOR,
        name="Northwind Distribution",
        region="EMEA",
        may_invite_msps=True,
        portal_access=Access.ACTIVE,
    )
    dist_b = make_org(
        parent=vendor,
        kind=Kind.DISTRIBUTOR,
        name="Southgate Supply",
        region="APAC",
        portal_access=Access.ACTIVE,
    )
    msp_a1 = make_org(
        parent=dist_a, kind=Kind.MSP, name="Acme IT", region="EMEA", portal_access=Access.ACTIVE
    )
    msp_a2 = make_org(
        parent=dist_a, kind=Kind.MSP, name="Bluebird Managed", region="EMEA", portal_access=Access.ACTIVE
    )
    msp_a3 = make_org(parent=dist_a, kind=Kind.MSP, name="Cobalt Services", region="EMEA")
    msp_b1 = make_org(
        parent=dist_b, kind=Kind.MSP, name="Dingo Networks", region="APAC", portal_access=Access.ACTIVE
    )
    account_a1 = make_account(msp_a1, "Alpha Dental")
    account_a2 = make_account(msp_a2, "Bravo Legal")
    account_a3 = make_account(msp_a3, "Charlie Farms")
    account_b1 = make_account(msp_b1, "Delta Freight")
    terms = TermsVersion.objects.create(version=1, text="Use the portal fairly.")
    tree = Tree(
        vendor=vendor,
        vendor_admin=make_user(vendor, "vendor@example.test", is_staff=True),
        dist_a=dist_a,
        dist_a_admin=make_user(dist_a, "dist-a@example.test"),
        dist_a_member=make_user(dist_a, "dist-a-member@example.test", Role.MEMBER),
        dist_a_billing=make_user(dist_a, "dist-a-billing@example.test", Role.BILLING),
        dist_a_readonly=make_user(dist_a, "dist-a-readonly@example.test", Role.READ_ONLY),
        msp_a1=msp_a1,
        msp_a1_admin=make_user(msp_a1, "msp-a1@example.test"),
        msp_a1_member=make_user(msp_a1, "msp-a1-member@example.test", Role.MEMBER),
        msp_a2=msp_a2,
        msp_a2_admin=make_user(msp_a2, "msp-a2@example.test"),
        msp_a3=msp_a3,
        dist_b=dist_b,
        dist_b_admin=make_user(dist_b, "dist-b@example.test"),
        msp_b1=msp_b1,
        msp_b1_admin=make_user(msp_b1, "msp-b1@example.test"),
        account_a1=account_a1,
        site_a1=make_site(account_a1, "Alpha Dental Main Street"),
        account_a2=account_a2,
        site_a2=make_site(account_a2, "Bravo Legal Harbour"),
        account_a3=account_a3,
        account_b1=account_b1,
        site_b1=make_site(account_b1, "Delta Freight Depot"),
        terms=terms,
    )
    for user in tree.users():
        if not user.is_vendor_staff:
            TermsAcceptance.objects.create(user=user, organisation=user.organisation, terms=terms)
    return tree
