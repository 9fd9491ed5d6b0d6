"""Following an emailed invitation link: the user, the MSP's details, the Terms."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.actions.common import ADDRESS_FIELDS, Access, Kind
from keyledger.organisations.actions.terms import record_terms_acceptance
from keyledger.organisations.models import (
    Invitation,
    Organisation,
    TermsVersion,
    User,
    hash_token,
    user_sort_name,
)
from keyledger.organisations.naming import natural_sort_key
from keyledger.organisations.queries import current_terms


def find_invitation(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organisation__parent").filter(token_hash=hash_token(token)).first()
    )


def terms_required_for(organisation: Organisation) -> TermsVersion | None:
    """The Terms a new user of this organisation must accept; vendor staff keep them instead."""
    if organisation.kind == Kind.VENDOR:
        return None
    return current_terms()


@transaction.atomic
def accept_invitation(
    *,
    token: str,
    password: str,
    full_name: str = "",
    accept_terms: TermsVersion | None = None,
    details: dict[str, str] | None = None,
    actor: Actor,
) -> User:
    """Follow an emailed link: create the user with its password, complete the MSP's
    details, record the Terms acceptance, and open the portal to the organisation.

    Any refusal rolls everything back, the link included: it can be followed again.
    """
    now = timezone.now()
    invitation = find_invitation(token)
    if invitation is None:
        raise ValidationError("This invitation link is not valid.", code="invalid")
    status = invitation.status_at(now)
    if status != "usable":
        raise ValidationError(INVITATION_REFUSALS[status], code=status)
    # Single use even under a double-submit: only one request wins the compare-and-set.
    if not Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(used_at=now):
        raise ValidationError(INVITATION_REFUSALS["used"], code="used")
    org = invitation.organisation
    if org.portal_access in (Access.NONE, Access.WITHDRAWN):
        raise ValidationError(INVITATION_REFUSALS["revoked"], code="revoked")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(LOGIN_EXISTS, code="login_exists")
    terms = terms_required_for(org)
    if terms is not None and (accept_terms is None or accept_terms.pk != terms.pk):
        raise ValidationError({"accept_terms": "Accept the current Terms of Service to use the portal."})
    full_name = (full_name or invitation.full_name).strip()
    user = User(
        email=invitation.email,
        full_name=full_name,
        sort_name=user_sort_name(full_name=full_name, email=invitation.email),
        organisation=org,
        role=invitation.role,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    try:
        # A savepoint: two links for one address followed at once; the database's unique
        # email lets one through and the other gets the same answer as above.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError(LOGIN_EXISTS, code="login_exists") from None
    applied: dict[str, str] = {}
    if details and invitation.purpose == Invitation.Purpose.MSP_INVITE:
        applied = {k: v.strip() for k, v in details.items() if k in ("name", *ADDRESS_FIELDS)}
        if not applied.get("name", org.name):
            raise ValidationError({"name": "The company name is needed."})
        for field, value in applied.items():
            setattr(org, field, value)
        if "name" in applied:
            org.sort_name = natural_sort_key(org.name)
        if applied:
            org.save(update_fields=[*applied, *(["sort_name"] if "name" in applied else [])])
    if org.portal_access == Access.INVITED:
        Organisation.objects.filter(pk=org.pk, portal_access=Access.INVITED).update(
            portal_access=Access.ACTIVE
        )
        org.portal_access = Access.ACTIVE
    user_actor = Actor(user=user, ip=actor.ip, channel=actor.channel)
    record(
        actor=user_actor,
        action="invitation.accept",
        organisation=org,
        obj=user,
        changes={"invitation": invitation.pk, "purpose": invitation.purpose, "details": applied},
    )
    if terms is not None:
        record_terms_acceptance(user=user, terms=terms, actor=user_actor)
    return user


LOGIN_EXISTS = (
    "This email address already has a Keyledger login, and a person belongs to one organisation "
    "only. Sign in with that login, or ask for an invitation to another address."
)

INVITATION_REFUSALS = {
    "used": "This invitation link has already been used.",
    "revoked": "This invitation has been withdrawn.",
    "expired": "This invitation link has expired.",
}
