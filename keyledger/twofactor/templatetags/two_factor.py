from __future__ import annotations

from dataclasses import dataclass

from django import template

from keyledger.organisations.models import User
from keyledger.twofactor import devices
from keyledger.twofactor.policy import Requirement, required_for

register = template.Library()


@dataclass(frozen=True)
class State:
    on: bool
    recovery_codes_left: int
    requirement: Requirement | None


@register.simple_tag
def two_factor_state(user: User) -> State:
    """A user's second factor and the requirement reaching them, for the profile and the Users page."""
    on = devices.has_two_factor(user)
    return State(
        on=on,
        recovery_codes_left=devices.recovery_codes_left(user) if on else 0,
        requirement=required_for(user),
    )
