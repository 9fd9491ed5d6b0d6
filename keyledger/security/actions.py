"""Sign-in security's state changes: sign-ins and their failures, sessions ended, passwords
reset and changed. Each writes its audit row; the views and the middleware call them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.models import User
from keyledger.security import emails, throttle
from keyledger.security.models import SignInSession, hash_session_key

RESET_SCOPE = "password-reset"


def _user_by_email(email: str) -> User | None:
    return (
        User.objects.select_related("organisation")
        .filter(email__iexact=throttle.normalise_email(email))
        .first()
    )


@transaction.atomic
def record_sign_in(*, user: User, device: str, actor: Actor) -> None:
    """A successful sign-in: the email's failures are forgotten, and it is audited."""
    throttle.reset(email=user.email)
    record(
        actor=actor,
        action="user.sign_in",
        organisation=user.organisation,
        obj=user,
        changes={"device": device},
    )


@transaction.atomic
def record_failed_sign_in(
    *, email: str, actor: Actor, scope: str = throttle.SIGN_IN, reason: str = "wrong password"
) -> throttle.Verdict:
    """Count a wrong password (or second-factor code) and audit it, and the lock it causes.

    An email without a user is audited without an organisation, so no tenant's audit log
    shows it (only the Django admin does)."""
    verdict = throttle.register_failure(email=email, ip=actor.ip, scope=scope)
    user = _user_by_email(email)
    organisation = user.organisation if user is not None else None
    named = (
        {"reason": reason}
        if user is not None
        else {"email": throttle.normalise_email(email), "reason": reason}
    )
    record(
        actor=actor,
        action="user.sign_in_failed" if user is not None else "sign_in.failed_unknown_email",
        organisation=organisation,
        obj=user,
        changes=named,
    )
    if verdict.account_locked:
        record(
            actor=actor,
            action="user.sign_in_locked" if user is not None else "sign_in.locked_unknown_email",
            organisation=organisation,
            obj=user,
            changes={**named, "locked_minutes": verdict.wait_minutes},
        )
    if verdict.ip_locked_now:
        # The address, not an account, is paused: no tenant's business.
        record(
            actor=actor,
            action="sign_in.ip_locked",
            organisation=None,
            changes={"locked_minutes": verdict.wait_minutes},
        )
    return verdict


def end_other_sessions(*, user: User, keep: str | None) -> int:
    """End every session of the user but the one whose key is `keep`
    (request.session.session_key): each arrives signed out on its next request.
    Returns how many ended; callers audit what caused it."""
    sessions = SignInSession.objects.filter(user=user)
    if keep:
        sessions = sessions.exclude(session_key=hash_session_key(keep))
    return sessions.delete()[0]


@transaction.atomic
def sign_out_other_sessions(*, user: User, keep: str | None, actor: Actor) -> int:
    ended = end_other_sessions(user=user, keep=keep)
    record(
        actor=actor,
        action="user.sign_out_other_sessions",
        organisation=user.organisation,
        obj=user,
        changes={"sessions_ended": ended},
    )
    return ended


def may_reset_password(user: User) -> bool:
    return user.may_sign_in and user.has_usable_password()


@transaction.atomic
def request_password_reset(*, email: str, actor: Actor) -> bool:
    """Email a reset link if the address belongs to a user who may sign in. The person asking
    is told the same whatever happens; the return value (link sent) is for tests."""
    address = throttle.normalise_email(email)
    per_email = throttle.allow_request(
        scope=RESET_SCOPE, identity=address, limit=settings.KEYLEDGER_PASSWORD_RESETS_PER_EMAIL
    )
    per_ip = throttle.allow_request(
        scope=RESET_SCOPE + "-ip", identity=actor.ip or "", limit=settings.KEYLEDGER_PASSWORD_RESETS_PER_IP
    )
    user = _user_by_email(address)
    if user is None:
        return False
    sent = per_email and per_ip and may_reset_password(user)
    changes: dict[str, object] = {"link_sent": sent}
    if not sent:
        changes["why_not"] = (
            "too many requests" if not (per_email and per_ip) else "this user may not sign in"
        )
    record(
        actor=actor,
        action="user.password_reset_requested",
        organisation=user.organisation,
        obj=user,
        changes=changes,
    )
    if sent:
        emails.send_password_reset(user=user, token=default_token_generator.make_token(user))
    return sent


@transaction.atomic
def reset_password(*, user: User, token: str, password: str, actor: Actor) -> User:
    """Set the password from an emailed link. The link works once: the token is checked
    again under the user's row lock, and it depends on the password it replaces."""
    locked = User.objects.select_for_update().select_related("organisation").get(pk=user.pk)
    if not (may_reset_password(locked) and default_token_generator.check_token(locked, token)):
        raise ValidationError("This link is no longer valid.", code="invalid")
    locked.set_password(password)
    locked.save(update_fields=["password"])
    ended = end_other_sessions(user=locked, keep=None)
    throttle.reset(email=locked.email)
    record(
        actor=actor,
        action="user.password_change",
        organisation=locked.organisation,
        obj=locked,
        changes={"how": "reset link", "sessions_ended": ended},
    )
    return locked


@transaction.atomic
def change_password(*, user: User, password: str, keep: str | None, actor: Actor) -> User:
    """The signed-in user's new password (the form checked the current one); their other
    sessions end, the one holding `keep` goes on."""
    locked = User.objects.select_for_update().select_related("organisation").get(pk=user.pk)
    locked.set_password(password)
    locked.save(update_fields=["password"])
    ended = end_other_sessions(user=locked, keep=keep)
    record(
        actor=actor,
        action="user.password_change",
        organisation=locked.organisation,
        obj=locked,
        changes={"how": "profile", "sessions_ended": ended},
    )
    return locked
