"""Loading the demo through the same actions the portal calls, so that the demo holds exactly
what the real flows produce: invitations followed, Terms accepted, every change audited.

The demo only ever goes into an empty database, or one that already holds it (then nothing
changes). A database with anything else in it is refused before anything is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from keyledger.audit.actor import Actor, Channel
from keyledger.billing.months import Month
from keyledger.customers import actions as customer_actions
from keyledger.demo import billing as demo_billing
from keyledger.demo import data, history
from keyledger.keys.models import Product
from keyledger.organisations import actions as org_actions
from keyledger.organisations.emails import invitation_url
from keyledger.organisations.models import Organisation, TermsVersion, User
from keyledger.organisations.queries import current_terms


class DemoRefused(Exception):
    """The database holds data the demo did not create; the demo writes nothing."""


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    what: str


@dataclass
class Outcome:
    created: bool
    logins: list[Login]
    # (MSP, link) of invitations left waiting, so the invitation page can be tried; the link
    # is only known when it is made (the database keeps its hash), so only on the first run.
    waiting_invitations: list[tuple[str, str]] = field(default_factory=list)


def refusal() -> str | None:
    """Why the demo may not go into this database, or None when it is empty or holds the demo.

    The demo is recognised by its vendor, not by its users' addresses: people invited while
    trying the demo (to real addresses) do not make it any less the demo."""
    # Only the vendor is a root (a database constraint), so every organisation lies below it.
    vendor = Organisation.objects.filter(kind=Organisation.Kind.VENDOR).first()
    if vendor is not None:
        if vendor.name == data.VENDOR_NAME:
            return None
        return (
            f"The database holds organisations the demo did not create (vendor “{vendor.name}”): "
            "the demo will not write into it. Use an empty database "
            "(e.g. KEYLEDGER_DATA_DIR=/some/empty/dir, or another DATABASE_URL)."
        )
    # No vendor: no organisation, hence no user (every user belongs to one): empty.
    return None


def is_loaded() -> bool:
    return Organisation.objects.filter(kind=Organisation.Kind.VENDOR, name=data.VENDOR_NAME).exists()


def logins() -> list[Login]:
    return [Login(p.email, data.PASSWORD, p.what) for p in data.people() if p.what]


# The demo's invitations are followed on the spot; their emails would only go to the
# undeliverable demo addresses (or clutter the console), so they are not sent at all.
_NO_EMAIL = override_settings(
    MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
)


def load() -> Outcome:
    """Load the demo, or find it already loaded. Raises DemoRefused on any other database."""
    with _NO_EMAIL, transaction.atomic():
        reason = refusal()
        if reason is not None:
            raise DemoRefused(reason)
        if is_loaded():
            return Outcome(created=False, logins=logins())
        waiting = _Builder().build()
    return Outcome(created=True, logins=logins(), waiting_invitations=waiting)


class _Builder:
    def __init__(self) -> None:
        self.system = Actor.system(Channel.CLI)
        self.terms: TermsVersion | None = None
        self.waiting: list[tuple[str, str]] = []
        self.sourcings: list[history.Sourcing] = []
        self.products = {product.code: product for product in Product.objects.all()}

    def build(self) -> list[tuple[str, str]]:
        vendor = org_actions.create_vendor(name=data.VENDOR_NAME, actor=self.system)
        # Vendor staff come from `keyledger createsuperuser`; this is that path.
        staff = User.objects.create_superuser(
            data.VENDOR_STAFF.email, data.PASSWORD, full_name=data.VENDOR_STAFF.name
        )
        as_staff = Actor.system(Channel.CLI, user=staff)
        self.terms = current_terms() or org_actions.publish_terms(text=data.TERMS_TEXT, actor=as_staff)
        for distributor in data.DISTRIBUTORS:
            self._distributor(vendor, distributor, as_staff)
        now = timezone.now()
        history.play(self.sourcings, now=now)
        oldest = max(sourcing.sourced(now) for sourcing in self.sourcings)
        demo_billing.load(
            vendor=vendor, staff=staff, now=now, first_month=Month.of(now - timedelta(days=oldest))
        )
        return self.waiting

    def _accept(self, token: str) -> User:
        user = org_actions.accept_invitation(
            token=token, password=secrets.token_urlsafe(32), accept_terms=self.terms, actor=self.system
        )
        # The real validators rightly refuse the published demo password (it is too like the
        # demo's addresses), so the invitation is followed with a strong one, then replaced.
        user.set_password(data.PASSWORD)
        user.save(update_fields=["password"])
        return user

    def _distributor(self, vendor: Organisation, spec: data.Distributor, as_staff: Actor) -> None:
        _, _, token = org_actions.create_distributor(
            parent=vendor,
            name=spec.name,
            region=spec.region,
            admin_email=spec.admin.email,
            admin_name=spec.admin.name,
            may_invite_msps=spec.may_invite_msps,
            city=spec.city,
            country=spec.country,
            actor=as_staff,
        )
        admin = self._accept(token)
        distributor = admin.organisation
        as_admin = Actor.system(Channel.CLI, user=admin)
        for person in spec.users:
            _, token = org_actions.invite_user(
                organisation=distributor,
                email=person.email,
                full_name=person.name,
                role=person.role,
                actor=as_admin,
            )
            self._accept(token)
        for msp in spec.msps:
            self._msp(distributor, msp, as_admin)

    def _msp(self, distributor: Organisation, spec: data.Msp, as_distributor: Actor) -> None:
        address = {
            "city": spec.city,
            "state": spec.state,
            "country": spec.country,
            "postal_code": spec.postal_code,
        }
        if spec.portal == "none":
            msp = org_actions.create_msp(
                distributor=distributor, name=spec.name, **address, actor=as_distributor
            )
            self._accounts(msp, spec.accounts, as_distributor)
            return
        assert spec.admin is not None, f"{spec.name} is invited, so it needs an admin"
        msp, _, token = org_actions.invite_msp(
            distributor=distributor,
            email=spec.admin.email,
            name=spec.admin.name,
            company=spec.name,
            region="",
            **address,
            actor=as_distributor,
        )
        if spec.portal == "invited":
            self.waiting.append((msp.name, invitation_url(token)))
            return
        user = self._accept(token)
        self._accounts(user.organisation, spec.accounts, Actor.system(Channel.CLI, user=user))
        if spec.portal == "withdrawn":
            org_actions.withdraw_portal_access(msp=user.organisation, actor=as_distributor)

    def _accounts(self, msp: Organisation, accounts: tuple[data.Account, ...], actor: Actor) -> None:
        for spec in accounts:
            account = customer_actions.create_account(
                msp=msp, name=spec.name, address=spec.address, notes=spec.notes, actor=actor
            )
            sites = {
                site.name: customer_actions.create_site(
                    account=account, name=site.name, address=site.address, notes=site.notes, actor=actor
                )
                for site in spec.sites
            }
            for keys in spec.keys:
                self.sourcings.append(
                    history.Sourcing(
                        account=account,
                        site=sites[keys.site] if keys.site else None,
                        product=self.products[keys.product],
                        plans=tuple(history.PLANS.get(name) or history.EDGES[name] for name in keys.plans),
                        actor=actor,
                        edition=keys.edition,
                        fields=keys.fields,
                    )
                )
