"""Sign-in security's state changes: sign-ins and their failures, sessions ended, passwords
reset and changed. Each writes its audit row; the views and the middleware call them."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.models import User
from keyledger.security import emails, throttle
from keyledger.security.models import SESSION_ENTRY, SignInSession, hash_session_token

RESET_SCOPE = "password-reset"


def _user_by_email(email: str) -> User | None:
    return (
        User.objects.select_related("organisation")
        .filter(email__iexact=throttle.normalise_email(email))
        .first()
    )


@transaction.atomic
def record_sign_in(*, user: User, session_token: str, user_agent: str, actor: Actor) -> SignInSession:
    """A successful sign-in: the session is listed, the email's failures are forgotten, and
    the user's sessions that ran out without coming back are no longer kept."""
    now = timezone.now()
    SignInSession.objects.filter(user=user).filter(
        Q(last_seen_at__lte=now - timedelta(hours=settings.KEYLEDGER_SESSION_IDLE_HOURS))
        | Q(created_at__lte=now - timedelta(days=settings.KEYLEDGER_SESSION_MAX_DAYS))
    ).delete()
    session = SignInSession.objects.create(
        user=user,
        token_hash=hash_session_token(session_token),
        ip_address=actor.ip,
        user_agent=user_agent[:400],
    )
    throttle.reset(email=user.email)
    record(
        actor=actor,
        action="user.sign_in",
        organisation=user.organisation,
        obj=user,
        changes={"device": session.device},
    )
    return session


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
    if verdict.account_locked and verdict.locked_now:
        record(
            actor=actor,
            action="user.sign_in_locked" if user is not None else "sign_in.locked_unknown_email",
            organisation=organisation,
            obj=user,
            changes={**named, "locked_minutes": verdict.wait_minutes},
        )
    if verdict.ip_locked and verdict.locked_now:
        # The address, not an account, is paused: no tenant's business.
        record(
            actor=actor,
            action="sign_in.ip_locked",
            organisation=None,
            changes={"locked_minutes": verdict.wait_minutes},
        )
    return verdict


def _kept_hash(user: User, keep: str) -> str:
    digest = hash_session_token(keep)
    if SignInSession.objects.filter(user=user, token_hash=digest).exists():
        return digest
    # Not a session token: a Django session key (request.session.session_key) names it too.
    token = import_module(settings.SESSION_ENGINE).SessionStore(session_key=keep).get(SESSION_ENTRY)
    return hash_session_token(token) if token else digest


def end_other_sessions(*, user: User, keep: str | None) -> int:
    """End every listed session of the user but `keep`: the request's session key
    (request.session.session_key) or its token (keyledger.security.sessions.current_token).
    Each is signed out on its next request. Returns how many ended; callers audit the cause."""
    sessions = SignInSession.objects.filter(user=user)
    if keep:
        sessions = sessions.exclude(token_hash=_kept_hash(user, keep))
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


@transaction.atomic
def end_session(*, session_token: str) -> None:
    SignInSession.objects.filter(token_hash=hash_session_token(session_token)).delete()


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
