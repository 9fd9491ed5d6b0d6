"""What the demo holds: a small channel (one vendor, two distributors, MSPs in each state of
portal access, their customers). keyledger.demo.load turns it into rows through the actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keyledger.organisations.roles import Role

DOMAIN = "demo.keyledger.test"  # .test is reserved: no demo address can ever receive mail
PASSWORD = "keyledger-demo"  # noqa: S105 (the demo's published password)
VENDOR_NAME = "Keyledger Demo Vendor"
TERMS_TEXT = (
    "These are the demo's Terms of Service. Use the Keyledger portal to manage the product keys "
    "of your customers, keep your login to yourself, and deactivate keys you no longer bill for."
)


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    role: str = Role.ADMIN
    what: str = ""  # shown in the demo's list of logins; empty: not listed


@dataclass(frozen=True)
class Site:
    name: str
    address: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Keys:
    """One Add Key(s) request: one key per plan (keyledger.demo.history.PLANS or EDGES), on the
    account or on one of its sites; `edition` is what the products report when they call home."""

    product: str
    plans: tuple[str, ...]
    site: str = ""
    edition: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    name: str
    address: str = ""
    notes: str = ""
    sites: tuple[Site, ...] = ()
    keys: tuple[Keys, ...] = ()


def _gre(server: str, version: str = "Exchange Server 2019") -> dict[str, str]:
    return {"exchange_server_name": server, "exchange_server_version": version}


@dataclass(frozen=True)
class Msp:
    name: str
    city: str
    state: str
    country: str
    postal_code: str
    # "none": New MSP, managed by its distributor; "active": invited and accepted;
    # "invited": the link is waiting; "withdrawn": accepted, then access withdrawn.
    portal: str
    admin: Person | None = None
    accounts: tuple[Account, ...] = ()


@dataclass(frozen=True)
class Distributor:
    name: str
    region: str
    may_invite_msps: bool
    city: str
    country: str
    admin: Person
    users: tuple[Person, ...] = ()
    msps: tuple[Msp, ...] = field(default_factory=tuple)


VENDOR_STAFF = Person(
    f"vendor@{DOMAIN}", "Vera Vendor", what="Vendor staff: all distributors, the Django admin at /admin/"
)

DISTRIBUTORS = (
    Distributor(
        name="Northwind Distribution",
        region="EMEA",
        may_invite_msps=True,
        city="London",
        country="United Kingdom",
        admin=Person(
            f"distributor@{DOMAIN}", "Nora North", what="Northwind Distribution (EMEA), may invite MSPs"
        ),
        users=(
            Person(
                f"billing@{DOMAIN}",
                "Bill Ledger",
                Role.BILLING,
                what="Northwind Distribution, billing role (reports only)",
            ),
        ),
        msps=(
            Msp(
                name="Acme IT Services",
                city="Manchester",
                state="Greater Manchester",
                country="United Kingdom",
                postal_code="M1 1AE",
                portal="active",
                admin=Person(
                    f"msp@{DOMAIN}", "Alex Acme", what="Acme IT Services, an MSP with portal access"
                ),
                accounts=(
                    Account(
                        "Alpha Dental",
                        address="12 Main Street, Manchester M2 4WU",
                        notes="Two surgeries; backups every night.",
                        sites=(
                            Site("Main Street Surgery", "12 Main Street, Manchester M2 4WU"),
                            Site("Riverside Clinic", "3 Quay Road, Salford M5 3AA"),
                        ),
                        keys=(
                            Keys("spmsp", ("steady",), site="Main Street Surgery", edition="server"),
                            Keys(
                                "spmsp",
                                ("steady", "established", "deactivation_requested"),
                                site="Main Street Surgery",
                                edition="desktop",
                            ),
                            Keys(
                                "spmsp",
                                ("recent", "new", "unused"),
                                site="Riverside Clinic",
                                edition="desktop",
                            ),
                            Keys(
                                "imagemanager", ("steady",), fields={"shadowstream": 5, "intelligentftp": 2}
                            ),
                        ),
                    ),
                    Account(
                        "Brightwater Legal",
                        address="40 King Street, Manchester M2 6BA",
                        sites=(Site("Head Office", "40 King Street, Manchester M2 6BA"),),
                        keys=(
                            Keys("spmsp", ("steady", "deactivated"), site="Head Office", edition="server"),
                            Keys("gre", ("established",), site="Head Office", fields=_gre("BWL-EXCH01")),
                            Keys("spmsp", ("critical",), site="Head Office", edition="vm"),
                        ),
                    ),
                    Account(
                        "Copperfield Bakery",
                        notes="One server in the back office.",
                        keys=(Keys("spmsp", ("reactivated",), edition="sbs"),),
                    ),
                    Account(
                        "Dunmore Veterinary",
                        notes="Machines that came and went last month: either side of the 14-day line.",
                        sites=(Site("Surgery"),),
                        keys=(
                            Keys(
                                "spmsp",
                                ("edge_billable", "edge_not_billable"),
                                site="Surgery",
                                edition="desktop",
                            ),
                            Keys(
                                "spmsp",
                                ("edge_deactivated_14th", "edge_deactivated_15th"),
                                site="Surgery",
                                edition="server",
                            ),
                        ),
                    ),
                ),
            ),
            Msp(
                name="Bluebird Managed IT",
                city="Leeds",
                state="West Yorkshire",
                country="United Kingdom",
                postal_code="LS1 4AP",
                portal="active",
                admin=Person(f"bluebird@{DOMAIN}", "Blake Bird", what="Bluebird Managed IT, another MSP"),
                accounts=(
                    Account(
                        "Fenwick Architects",
                        sites=(Site("Studio", "8 Park Row, Leeds LS1 5HD"),),
                        keys=(
                            Keys("spmsp", ("steady", "steady", "offline"), site="Studio", edition="desktop"),
                            Keys(
                                "imagemanager",
                                ("recent",),
                                site="Studio",
                                fields={"headstart": 3, "shadowstream": 2},
                            ),
                        ),
                    ),
                    Account(
                        "Greenfield Primary School",
                        address="Church Lane, Otley LS21 1AA",
                        keys=(
                            Keys("spmsp", ("established", "reactivation_requested"), edition="server"),
                            Keys("spmsp", ("unused", "unused")),
                        ),
                    ),
                ),
            ),
            Msp(
                name="Cobalt Systems",
                city="Bristol",
                state="",
                country="United Kingdom",
                postal_code="BS1 4DJ",
                portal="none",
                accounts=(
                    Account(
                        "Harlow Logistics",
                        notes="Managed by Northwind: Cobalt has no portal access.",
                        sites=(Site("Depot North"), Site("Depot South")),
                        keys=(
                            Keys("spmsp", ("steady", "critical"), site="Depot North", edition="server"),
                            Keys("spmsp", ("recent",), site="Depot South", edition="vm"),
                        ),
                    ),
                ),
            ),
            Msp(
                name="Harbour Tech",
                city="Cardiff",
                state="",
                country="United Kingdom",
                postal_code="CF10 1EP",
                portal="invited",
                admin=Person(f"harbour@{DOMAIN}", "Hana Harbour"),
            ),
            Msp(
                name="Fjord Consulting",
                city="Edinburgh",
                state="",
                country="United Kingdom",
                postal_code="EH1 1YZ",
                portal="withdrawn",
                admin=Person(f"fjord@{DOMAIN}", "Finn Fjord"),
                accounts=(
                    Account("Kelpie Distillery", keys=(Keys("spmsp", ("steady",), edition="server"),)),
                ),
            ),
        ),
    ),
    Distributor(
        name="Southgate Supply",
        region="APAC",
        may_invite_msps=False,
        city="Sydney",
        country="Australia",
        admin=Person(f"southgate@{DOMAIN}", "Sam South", what="Southgate Supply (APAC), may not invite MSPs"),
        msps=(
            Msp(
                name="Dingo Networks",
                city="Brisbane",
                state="Queensland",
                country="Australia",
                postal_code="4000",
                portal="none",
                accounts=(
                    Account(
                        "Ironbark Mining",
                        sites=(Site("Perth Office"), Site("Kalgoorlie Pit")),
                        keys=(
                            Keys("spmsp", ("steady", "steady"), site="Perth Office", edition="server"),
                            Keys(
                                "gre",
                                ("new",),
                                site="Kalgoorlie Pit",
                                fields=_gre("IRONBARK-EX1", "Exchange Server 2016"),
                            ),
                        ),
                    ),
                ),
            ),
            Msp(
                name="Emu Computing",
                city="Adelaide",
                state="South Australia",
                country="Australia",
                postal_code="5000",
                portal="none",
                accounts=(
                    Account(
                        "Jacaranda Hotels",
                        keys=(
                            Keys("spmsp", ("established", "deactivated"), edition="desktop"),
                            Keys("imagemanager", ("unused",), fields={"intelligentftp": 10}),
                        ),
                    ),
                ),
            ),
        ),
    ),
)


def people() -> list[Person]:
    """Everyone who gets a login, in the order the demo lists them."""
    found = [VENDOR_STAFF]
    for distributor in DISTRIBUTORS:
        found += [distributor.admin, *distributor.users]
        found += [msp.admin for msp in distributor.msps if msp.admin is not None]
    return found
