"""What the two-factor tests share: an authenticator app's code, and a user set up with one."""

from __future__ import annotations

from datetime import date

from django_otp.oath import TOTP

from keyledger.audit.actor import Actor
from keyledger.organisations.models import Organisation, User
from keyledger.twofactor import actions
from keyledger.twofactor.models import Scope, TwoFactorRequirement


def code_for(key: str, *, steps_ahead: int = 0) -> str:
    """The code the app shows now (or that many 30-second steps later), as a person types it."""
    return f"{TOTP(bytes.fromhex(key), drift=steps_ahead).token():06d}"


def enrol(user: User) -> tuple[str, list[str]]:
    """Sets up the user's authenticator; returns its secret and the recovery codes."""
    key = actions.new_secret()
    codes = actions.enrol(user=user, key=key, code=code_for(key), actor=Actor(user=user))
    return key, codes


def require(organisation: Organisation, scope: str = Scope.OWN, *, on: date) -> TwoFactorRequirement:
    """A requirement as of any day, past ones too (the action only accepts today or later)."""
    return TwoFactorRequirement.objects.create(organisation=organisation, scope=scope, applies_from=on)
