"""The Terms of Service: publishing a version and recording its acceptance."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.actions.common import Kind
from keyledger.organisations.models import (
    Organisation,
    TermsAcceptance,
    TermsVersion,
    User,
)


@transaction.atomic
def record_terms_acceptance(*, user: User, terms: TermsVersion, actor: Actor) -> TermsAcceptance:
    acceptance, created = TermsAcceptance.objects.get_or_create(
        user=user,
        terms=terms,
        defaults={"organisation": user.organisation, "ip_address": actor.ip, "accepted_at": timezone.now()},
    )
    if created:
        record(
            actor=actor,
            action="terms.accept",
            organisation=user.organisation,
            obj=acceptance,
            changes={"version": terms.version},
        )
    return acceptance


@transaction.atomic
def publish_terms(*, text: str, title: str = "Terms of Service", actor: Actor) -> TermsVersion:
    """A new version, which every user outside the vendor accepts at their next request."""
    if not text.strip():
        raise ValidationError({"text": "The Terms of Service need a text."})
    latest = TermsVersion.objects.select_for_update().order_by("-version").first()
    terms = TermsVersion.objects.create(
        version=(latest.version + 1) if latest else 1,
        title=title.strip() or "Terms of Service",
        text=text.strip(),
        published_at=timezone.now(),
    )
    # Filed under the vendor, so vendor staff find it in their audit log.
    vendor = Organisation.objects.filter(kind=Kind.VENDOR, parent__isnull=True).first()
    record(
        actor=actor,
        action="terms.publish",
        organisation=vendor,
        obj=terms,
        changes={"version": terms.version, "title": terms.title},
    )
    return terms
