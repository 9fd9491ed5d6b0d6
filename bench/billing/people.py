"""Who looks at the reports in the bench: vendor staff (every MSP), the first distributor's
admin and the big MSP's admin, signed in with a session of the portal's own kind."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.test import Client

from bench.billing.data import Dataset
from keyledger.organisations.models import Organisation, TermsAcceptance, User
from keyledger.organisations.queries import current_terms
from keyledger.organisations.roles import Role


@dataclass(frozen=True)
class People:
    vendor: User
    distributor: User
    msp: User


def people(data: Dataset) -> People:
    def make(org_id: int, email: str, **fields: object) -> User:
        known = User.objects.filter(email=email).first()
        if known is not None:
            return known
        organisation = Organisation.objects.get(pk=org_id)
        user = User.objects.create_user(email, None, organisation=organisation, role=Role.ADMIN, **fields)
        terms = current_terms()
        if terms is not None and not user.is_vendor_staff:
            TermsAcceptance.objects.create(user=user, organisation=organisation, terms=terms)
        return user

    return People(
        vendor=make(data.vendor_id, "vendor@bench.test", is_staff=True),
        distributor=make(data.first_distributor_id, "distributor@bench.test"),
        msp=make(data.big_msp_id, "msp@bench.test"),
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_cookie(user: User) -> str:
    """A Cookie header that signs `user` in to a portal running on the same database."""
    client = signed_in(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"
