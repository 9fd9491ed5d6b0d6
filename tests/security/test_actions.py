"""Sign-in security's actions: what each changes and audits."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.organisations.models import User
from keyledger.security import actions, throttle
from keyledger.security.models import SignInSession, hash_session_key
from keyledger.testing.tree import make_user

pytestmark = pytest.mark.django_db(transaction=False)

IP = "192.0.2.44"


def visitor() -> Actor:
    return Actor(ip=IP)


def session_of(user: User, key: str) -> SignInSession:
    return SignInSession.objects.create(
        user=user,
        session_key=hash_session_key(key),
        session_data="",
        expire_date=timezone.now() + timedelta(days=1),
    )


def keys_of(user: User) -> list[str]:
    return list(SignInSession.objects.filter(user=user).values_list("session_key", flat=True))


def test_a_wrong_password_for_a_user_is_audited_in_its_organisation(tree):
    actions.record_failed_sign_in(email="DIST-A@example.test", actor=visitor())
    entry = AuditEntry.objects.get(action="user.sign_in_failed")
    assert entry.organisation == tree.dist_a and entry.object_id == str(tree.dist_a_admin.pk)
    assert entry.ip_address == IP and entry.actor_user is None


def test_a_wrong_password_for_an_unknown_email_belongs_to_no_organisation(tree):
    actions.record_failed_sign_in(email="ghost@example.test", actor=visitor())
    entry = AuditEntry.objects.get(action="sign_in.failed_unknown_email")
    assert entry.organisation is None and entry.organisation_path == ""
    assert entry.changes["email"] == "ghost@example.test" and entry.ip_address == IP


def test_the_fifth_failure_audits_the_lock(tree):
    for _ in range(4):
        assert actions.record_failed_sign_in(email=tree.msp_a1_admin.email, actor=visitor()).allowed
    verdict = actions.record_failed_sign_in(email=tree.msp_a1_admin.email, actor=visitor())
    assert verdict.wait_seconds == 60
    lock = AuditEntry.objects.get(action="user.sign_in_locked")
    assert lock.organisation == tree.msp_a1 and lock.changes["locked_minutes"] == 1 and lock.ip_address == IP
    assert AuditEntry.objects.filter(action="user.sign_in_failed").count() == 5


def test_a_lock_of_an_unknown_email_and_of_an_address_belong_to_no_organisation(tree, settings):
    settings.KEYLEDGER_SIGN_IN_MAX_FAILURES_PER_IP = 5
    for _ in range(5):
        actions.record_failed_sign_in(email="ghost@example.test", actor=visitor())
    rows = AuditEntry.objects.filter(action__in=["sign_in.locked_unknown_email", "sign_in.ip_locked"])
    assert sorted(rows.values_list("action", flat=True)) == [
        "sign_in.ip_locked",
        "sign_in.locked_unknown_email",
    ]
    assert not rows.exclude(organisation=None).exists()


def test_a_sign_in_clears_failures_and_is_audited(tree):
    user = tree.dist_a_admin
    for _ in range(3):
        actions.record_failed_sign_in(email=user.email, actor=visitor())
    actions.record_sign_in(user=user, device="Firefox on Linux", actor=Actor(user=user, ip=IP))
    entry = AuditEntry.objects.get(action="user.sign_in")
    assert entry.actor_user == user and entry.ip_address == IP and entry.organisation == tree.dist_a
    assert entry.changes == {"device": "Firefox on Linux"}
    # The three failures are forgotten: five more are needed for a lock.
    for _ in range(4):
        assert actions.record_failed_sign_in(email=user.email, actor=visitor()).allowed


def test_signing_out_other_sessions_keeps_this_one(tree):
    user = tree.dist_a_admin
    session_of(user, "this")
    session_of(user, "phone")
    session_of(user, "laptop")
    other = session_of(tree.dist_a_member, "someone-else")
    assert actions.sign_out_other_sessions(user=user, keep="this", actor=Actor(user=user, ip=IP)) == 2
    assert keys_of(user) == [hash_session_key("this")]
    assert SignInSession.objects.filter(pk=other.pk).exists()
    entry = AuditEntry.objects.get(action="user.sign_out_other_sessions")
    assert entry.changes == {"sessions_ended": 2} and entry.ip_address == IP


def reset_link() -> tuple[str, str]:
    (message,) = mail.outbox
    uid, token = re.search(r"/password-reset/([^/]+)/([^/]+)/", message.body).groups()
    return uid, token


def test_a_reset_request_emails_a_link_to_a_user_who_may_sign_in(tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.request_password_reset(email=" Dist-A@Example.test", actor=visitor())
    (message,) = mail.outbox
    assert message.to == [tree.dist_a_admin.email] and "/password-reset/" in message.body
    entry = AuditEntry.objects.get(action="user.password_reset_requested")
    assert (
        entry.organisation == tree.dist_a and entry.changes == {"link_sent": True} and entry.ip_address == IP
    )


def test_no_link_for_unknown_deactivated_or_portal_less_users(tree, django_capture_on_commit_callbacks):
    tree.dist_a_member.is_active = False
    tree.dist_a_member.save(update_fields=["is_active"])
    no_access = make_user(tree.msp_a3, "cobalt@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        for email in ("ghost@example.test", tree.dist_a_member.email, no_access.email):
            assert not actions.request_password_reset(email=email, actor=visitor())
    assert mail.outbox == []
    # Existing users' requests are audited, the unknown address's is not.
    refused = AuditEntry.objects.filter(action="user.password_reset_requested")
    assert sorted(e.object_repr for e in refused) == sorted([tree.dist_a_member.email, no_access.email])
    assert all(e.changes["link_sent"] is False for e in refused)


def test_reset_requests_are_limited_per_address_and_per_ip(
    tree, settings, django_capture_on_commit_callbacks
):
    settings.KEYLEDGER_PASSWORD_RESETS_PER_EMAIL = 2
    settings.KEYLEDGER_PASSWORD_RESETS_PER_IP = 3
    with django_capture_on_commit_callbacks(execute=True):
        sent = [
            actions.request_password_reset(email=tree.dist_a_admin.email, actor=visitor()) for _ in range(3)
        ]
        assert sent == [True, True, False]
        # The address has used its 3 requests; another person's reset from it sends nothing.
        assert not actions.request_password_reset(email=tree.msp_a1_admin.email, actor=visitor())
        assert actions.request_password_reset(email=tree.msp_a1_admin.email, actor=Actor(ip="198.51.100.1"))
    assert len(mail.outbox) == 3


def test_a_reset_sets_the_password_once_and_ends_every_session(tree):
    user = tree.dist_a_admin
    session_of(user, "one")
    session_of(user, "two")
    for _ in range(5):
        actions.record_failed_sign_in(email=user.email, actor=visitor())
    token = default_token_generator.make_token(user)
    actions.reset_password(user=user, token=token, password="a fresh long passphrase", actor=visitor())
    user.refresh_from_db()
    assert user.check_password("a fresh long passphrase")
    assert not SignInSession.objects.filter(user=user).exists()
    assert throttle.check(email=user.email, ip=None).allowed
    entry = AuditEntry.objects.get(action="user.password_change")
    assert entry.changes == {"how": "reset link", "sessions_ended": 2} and entry.ip_address == IP
    # The same link again: refused, nothing changes.
    with pytest.raises(ValidationError):
        actions.reset_password(user=user, token=token, password="yet another passphrase", actor=visitor())
    user.refresh_from_db()
    assert user.check_password("a fresh long passphrase")
    assert AuditEntry.objects.filter(action="user.password_change").count() == 1


def test_a_link_of_a_user_deactivated_since_does_nothing(tree):
    user = tree.msp_a1_admin
    token = default_token_generator.make_token(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    with pytest.raises(ValidationError):
        actions.reset_password(user=user, token=token, password="a fresh long passphrase", actor=visitor())
    user.refresh_from_db()
    assert not user.check_password("a fresh long passphrase")


def test_changing_the_password_ends_the_other_sessions(tree):
    user = tree.msp_a1_admin
    session_of(user, "this")
    session_of(user, "other")
    actions.change_password(
        user=user, password="a fresh long passphrase", keep="this", actor=Actor(user=user, ip=IP)
    )
    user.refresh_from_db()
    assert user.check_password("a fresh long passphrase")
    assert keys_of(user) == [hash_session_key("this")]
    entry = AuditEntry.objects.get(action="user.password_change")
    assert entry.changes == {"how": "profile", "sessions_ended": 1} and entry.actor_user == user


def test_an_address_lock_is_audited_once(tree, settings):
    settings.KEYLEDGER_SIGN_IN_MAX_FAILURES_PER_IP = 3
    for i in range(6):
        actions.record_failed_sign_in(email=f"guess{i}@example.test", actor=visitor())
    assert AuditEntry.objects.filter(action="sign_in.ip_locked").count() == 1
