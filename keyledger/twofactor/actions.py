"""Every change to a user's second factor and to the requirements, each with its audit row."""

from __future__ import annotations

import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import UTC, date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import dateformat, timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.models import Organisation, User
from keyledger.security import throttle
from keyledger.security.actions import end_other_sessions, record_failed_sign_in
from keyledger.twofactor import devices
from keyledger.twofactor.models import TwoFactorRequirement
from keyledger.twofactor.policy import required_for, scopes_settable_by

WRONG_CODE = "That code is not right. Enter the 6-digit code your authenticator app shows now."
WRONG_CODE_REASON = "wrong two-factor code"
TOLERANCE = 1  # one 30-second step either side: a phone's clock is seldom exact


def new_secret() -> str:
    """A TOTP secret, hex as django-otp stores it (20 random bytes, as RFC 4226 recommends)."""
    return secrets.token_hex(20)


def secret_for_people(key_hex: str) -> str:
    """The secret as authenticator apps ask for it when typed in: base32, in groups of four."""
    text = b32encode(bytes.fromhex(key_hex)).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _lock(user: User) -> None:
    # One change of a user's second factor at a time: two tabs enrolling, or a code used twice at once.
    User.objects.select_for_update().filter(pk=user.pk).first()


def _totp_matches(device: TOTPDevice, code: str) -> bool:
    """Checks the code and spends it: a code (and any earlier one) is accepted once only."""
    if not (code.isdigit() and len(code) == device.digits):
        return False
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not totp.verify(int(code), TOLERANCE, device.last_t + 1):
        return False
    # Compare-and-set on last_t: of two requests with the same code, one wins.
    return bool(
        TOTPDevice.objects.filter(pk=device.pk, last_t=device.last_t).update(
            last_t=totp.t(), drift=totp.drift, last_used_at=timezone.now()
        )
    )


def _spend_recovery_code(user: User, code: str) -> bool:
    token = StaticToken.objects.filter(
        device__user=user, device__name=devices.RECOVERY_NAME, token=code
    ).first()
    # Deleting by primary key counts the rows: a code used twice at once is spent once.
    return token is not None and StaticToken.objects.filter(pk=token.pk).delete()[0] == 1


def _replace_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=devices.RECOVERY_NAME, confirmed=True)
    codes = devices.new_recovery_codes()
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic
def enrol(*, user: User, key: str, code: str, actor: Actor, keep_session: str | None = None) -> list[str]:
    """Confirms the authenticator app holding `key` by one of its codes; returns the new recovery
    codes. The user's other sessions, signed in with the password alone, end; the one whose
    session key is `keep_session` (the one enrolling) goes on."""
    _lock(user)
    if devices.has_two_factor(user):
        raise ValidationError("Two-factor authentication is already on for your account.")
    TOTPDevice.objects.filter(user=user).delete()  # an unconfirmed leftover, if any
    device = TOTPDevice.objects.create(user=user, name=devices.AUTHENTICATOR_NAME, key=key, confirmed=False)
    if not _totp_matches(device, devices.normalise_code(code)):
        raise ValidationError({"code": WRONG_CODE})
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    codes = _replace_recovery_codes(user)
    ended = end_other_sessions(user=user, keep=keep_session)
    record(
        actor=actor,
        action="two_factor.enrol",
        organisation=user.organisation,
        obj=user,
        changes={"other_sessions_ended": ended} if ended else None,
    )
    return codes


@dataclass(frozen=True)
class CodeCheck:
    used: str | None  # "authenticator" or "recovery code"; None for a wrong code
    verdict: throttle.Verdict | None = None  # for a wrong code: whether signing in is now paused


@transaction.atomic
def verify_sign_in(*, user: User, code: str, actor: Actor) -> CodeCheck:
    """The sign-in's second step. A wrong code is counted with the wrong passwords and audited
    like one (keyledger.security), so it is an answer, not an exception that would undo that."""
    _lock(user)
    device = devices.authenticator(user)
    code = devices.normalise_code(code)
    if device is not None and _totp_matches(device, code):
        return CodeCheck(used="authenticator")
    if device is not None and _spend_recovery_code(user, code):
        record(
            actor=actor,
            action="two_factor.recovery_code_used",
            organisation=user.organisation,
            obj=user,
            changes={"recovery_codes_left": devices.recovery_codes_left(user)},
        )
        return CodeCheck(used="recovery code")
    verdict = record_failed_sign_in(email=user.email, actor=actor, reason=WRONG_CODE_REASON)
    return CodeCheck(used=None, verdict=verdict)


def _refuse_if_required(user: User, message: str) -> None:
    requirement = required_for(user)
    if requirement is not None:
        when = "" if requirement.in_force else f" from {dateformat.format(requirement.applies_from, 'j F Y')}"
        raise ValidationError(f"{requirement.by.name} requires two-factor authentication{when}: {message}")


def _remove_devices(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def disable(*, user: User, password: str, code: str, actor: Actor) -> None:
    """The user turns it off, with their password and a code (or a recovery code)."""
    _lock(user)
    _refuse_if_required(user, "it cannot be turned off.")
    if not user.check_password(password):
        raise ValidationError({"password": "That is not your password."})
    device = devices.authenticator(user)
    if device is None:
        raise ValidationError("Two-factor authentication is not on for your account.")
    code = devices.normalise_code(code)
    if not (_totp_matches(device, code) or _spend_recovery_code(user, code)):
        raise ValidationError(
            {"code": "That code is not right. Enter a code from your app or a recovery code."}
        )
    _remove_devices(user)
    record(actor=actor, action="two_factor.disable", organisation=user.organisation, obj=user)


@transaction.atomic
def regenerate_recovery_codes(*, user: User, code: str, actor: Actor) -> list[str]:
    """New recovery codes (confirmed with a code from the app); the old ones stop working."""
    _lock(user)
    device = devices.authenticator(user)
    if device is None:
        raise ValidationError("Two-factor authentication is not on for your account.")
    if not _totp_matches(device, devices.normalise_code(code)):
        raise ValidationError({"code": WRONG_CODE})
    codes = _replace_recovery_codes(user)
    record(
        actor=actor, action="two_factor.recovery_codes_regenerated", organisation=user.organisation, obj=user
    )
    return codes


@transaction.atomic
def reset(*, user: User, actor: Actor) -> None:
    """An admin of the user's organisation or above it removes the user's second factor (a lost
    phone) and signs them out; they set it up again (at the next sign-in where it is required)."""
    if actor.user is not None and actor.user.pk == user.pk:
        raise ValidationError("To turn off your own two-factor authentication, use your profile.")
    _lock(user)
    if not TOTPDevice.objects.filter(user=user).exists():
        raise ValidationError(f"{user.email} has no two-factor authentication to reset.")
    _remove_devices(user)
    # A lost phone may hold a signed-in session: every session of the user ends.
    ended = end_other_sessions(user=user, keep=None)
    record(
        actor=actor,
        action="two_factor.reset",
        organisation=user.organisation,
        obj=user,
        changes={"sessions_ended": ended},
    )


@transaction.atomic
def set_requirement(*, organisation: Organisation, scope: str, applies_from: date, actor: Actor) -> None:
    if scope not in scopes_settable_by(organisation):
        raise ValidationError(f"{organisation.name} cannot require this.")
    existing = (
        TwoFactorRequirement.objects.select_for_update()
        .filter(organisation=organisation, scope=scope)
        .first()
    )
    if existing is None:
        if applies_from < timezone.localdate(timezone=UTC):
            raise ValidationError({"applies_from": "Choose today or a later day."})
        TwoFactorRequirement.objects.create(
            organisation=organisation, scope=scope, applies_from=applies_from, set_by=actor.user
        )
        changes = {"scope": scope, "applies_from": [None, applies_from.isoformat()]}
    else:
        if existing.applies_from == applies_from:
            return
        if applies_from < timezone.localdate(timezone=UTC) and applies_from != existing.applies_from:
            raise ValidationError({"applies_from": "Choose today or a later day."})
        changes = {
            "scope": scope,
            "applies_from": [existing.applies_from.isoformat(), applies_from.isoformat()],
        }
        existing.applies_from = applies_from
        existing.set_by = actor.user
        existing.set_at = timezone.now()
        existing.save(update_fields=["applies_from", "set_by", "set_at"])
    record(
        actor=actor,
        action="two_factor.requirement_set",
        organisation=organisation,
        obj=organisation,
        changes=changes,
    )


@transaction.atomic
def remove_requirement(*, organisation: Organisation, scope: str, actor: Actor) -> None:
    rule = (
        TwoFactorRequirement.objects.select_for_update()
        .filter(organisation=organisation, scope=scope)
        .first()
    )
    if rule is None:
        raise ValidationError("This requirement was already removed.")
    rule.delete()
    record(
        actor=actor,
        action="two_factor.requirement_removed",
        organisation=organisation,
        obj=organisation,
        changes={"scope": scope, "applies_from": [rule.applies_from.isoformat(), None]},
    )
