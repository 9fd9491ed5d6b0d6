"""An organisation's users: inviting one, changing a role, deactivating and reactivating, and
the time zone a user reads the portal's times in."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.actions.common import Access, check_no_pending_invitation, issue_invitation
from keyledger.organisations.models import (
    Invitation,
    Organisation,
    User,
)
from keyledger.organisations.roles import Role
from keyledger.organisations.time_zones import is_time_zone


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": "Choose one of the roles."})


@transaction.atomic
def invite_user(
    *, organisation: Organisation, email: str, full_name: str, role: str, actor: Actor
) -> tuple[Invitation, str]:
    """A new user of an organisation that uses the portal: an emailed link sets the password."""
    if organisation.portal_access != Access.ACTIVE:
        raise ValidationError(
            "This organisation does not use the portal yet; it gets users once its portal access is active."
        )
    _check_role(role)
    check_no_pending_invitation(email=email, organisation=organisation)
    return issue_invitation(
        organisation=organisation,
        purpose=Invitation.Purpose.USER,
        email=email,
        full_name=full_name,
        role=role,
        actor=actor,
    )


def _check_not_self(user: User, actor: Actor, message: str) -> None:
    # Nobody locks themselves out: another admin (here or above) must do it.
    if actor.user is not None and actor.user.pk == user.pk:
        raise ValidationError(message)


@transaction.atomic
def change_role(*, user: User, role: str, actor: Actor) -> User:
    _check_role(role)
    _check_not_self(user, actor, "You cannot change your own role; ask another admin.")
    old = user.role
    if old == role:
        return user
    if not User.objects.filter(pk=user.pk, role=old).update(role=role):
        raise ValidationError("This user was changed meanwhile; reload the page.")
    user.role = role
    record(
        actor=actor,
        action="user.change_role",
        organisation=user.organisation,
        obj=user,
        changes={"role": [old, role]},
    )
    return user


@transaction.atomic
def deactivate_user(*, user: User, actor: Actor) -> User:
    """The user can no longer sign in and any session of theirs ends; their history stays."""
    _check_not_self(user, actor, "You cannot deactivate yourself; ask another admin.")
    if not User.objects.filter(pk=user.pk, is_active=True).update(is_active=False):
        raise ValidationError("This user is already deactivated.")
    user.is_active = False
    record(
        actor=actor,
        action="user.deactivate",
        organisation=user.organisation,
        obj=user,
        changes={"is_active": [True, False]},
    )
    return user


@transaction.atomic
def reactivate_user(*, user: User, actor: Actor) -> User:
    if not User.objects.filter(pk=user.pk, is_active=False).update(is_active=True):
        raise ValidationError("This user is already active.")
    user.is_active = True
    record(
        actor=actor,
        action="user.reactivate",
        organisation=user.organisation,
        obj=user,
        changes={"is_active": [False, True]},
    )
    return user


@transaction.atomic
def set_time_zone(*, user: User, time_zone: str, actor: Actor) -> User:
    """The zone the portal shows this user's times in; "" is none chosen (UTC). CSV files and
    the API stay in UTC whatever it is."""
    if time_zone and not is_time_zone(time_zone):
        raise ValidationError({"time_zone": "Choose a time zone from the list."})
    old = user.time_zone
    if old == time_zone:
        return user
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    record(
        actor=actor,
        action="user.set_time_zone",
        organisation=user.organisation,
        obj=user,
        changes={"time_zone": [old, time_zone]},
    )
    return user


@transaction.atomic
def adopt_browser_time_zone(*, user: User, time_zone: str, actor: Actor) -> User:
    """At sign-in, the browser's zone becomes the user's if they have not chosen one; a zone
    the browser names wrongly (or not at all) is passed over: it is only a suggestion."""
    if user.time_zone or not is_time_zone(time_zone):
        return user
    return set_time_zone(user=user, time_zone=time_zone, actor=actor)
