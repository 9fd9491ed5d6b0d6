"""The one place that says whether a user must use two-factor authentication, and who says so.

A requirement reaches a user from the user's own organisation (scope "own") or from an
organisation above it: the vendor's or a distributor's "distributors" rule reaches the users
of every distributor below it, a distributor's (or the vendor's) "msps" rule the users of
every MSP below it. Where several reach a user, the one in force (or else the soonest) wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db.models import Q
from django.utils import timezone

from keyledger.organisations.models import Organisation, User
from keyledger.twofactor.models import Scope, TwoFactorRequirement


@dataclass(frozen=True)
class Requirement:
    by: Organisation  # the organisation that requires it, named in the banner
    scope: str
    applies_from: date
    in_force: bool


def scopes_settable_by(organisation: Organisation) -> list[str]:
    """What an organisation may require: of its own users, and of the kind of organisation it serves."""
    if organisation.kind == Organisation.Kind.VENDOR:
        return [Scope.OWN, Scope.DISTRIBUTORS]
    if organisation.kind == Organisation.Kind.DISTRIBUTOR:
        return [Scope.OWN, Scope.MSPS]
    return [Scope.OWN]


def _ancestor_ids(organisation: Organisation) -> list[int]:
    return [int(part) for part in organisation.path.strip("/").split("/")[:-1] if part]


def _scope_from_above(organisation: Organisation) -> str | None:
    if organisation.kind == Organisation.Kind.DISTRIBUTOR:
        return Scope.DISTRIBUTORS
    if organisation.kind == Organisation.Kind.MSP:
        return Scope.MSPS
    return None


def requirements_reaching(organisation: Organisation) -> list[TwoFactorRequirement]:
    """Every requirement that reaches the users of the organisation, its own first."""
    reach = Q(organisation_id=organisation.pk, scope=Scope.OWN)
    from_above = _scope_from_above(organisation)
    ancestors = _ancestor_ids(organisation)
    if from_above and ancestors:
        reach |= Q(organisation_id__in=ancestors, scope=from_above)
    return list(TwoFactorRequirement.objects.filter(reach).select_related("organisation"))


def required_for(user: User, at: datetime | None = None) -> Requirement | None:
    """The requirement that applies to the user, in force at `at` or announced for later; None if none."""
    rules = requirements_reaching(user.organisation)
    if not rules:
        return None
    # Days of requirements are UTC days for everyone, whatever zone each user reads pages in.
    today = timezone.localdate(at or timezone.now(), timezone=UTC)
    # In force first, then the one whose day comes soonest; the closest organisation on a tie.
    rule = min(rules, key=lambda r: (not r.is_in_force_on(today), r.applies_from, -len(r.organisation.path)))
    return Requirement(
        by=rule.organisation,
        scope=rule.scope,
        applies_from=rule.applies_from,
        in_force=rule.is_in_force_on(today),
    )
