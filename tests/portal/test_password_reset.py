"""Forgot your password: the same answer for every address, a link that works once and
expires, a new password under the policy, every session ended."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.security.models import SignInSession
from keyledger.testing.tree import PASSWORD, make_user

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
NEW = "a fresh long passphrase"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def ask(client, email: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("portal:password_reset"), {"email": email}, follow=True)


def link_path() -> str:
    (message,) = mail.outbox
    return re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body).group(1)


def test_the_sign_in_page_offers_the_reset(client):
    page = client.get(reverse("portal:login")).content.decode()
    assert f'href="{reverse("portal:password_reset")}"' in page and "Forgot your password?" in page


def test_every_address_gets_the_same_answer(client, tree, django_capture_on_commit_callbacks):
    no_access = make_user(tree.msp_a3, "cobalt@example.test")
    answers = []
    for email in (tree.dist_a_admin.email, "nobody@example.test", no_access.email):
        page = ask(client, email, django_capture_on_commit_callbacks)
        assert page.redirect_chain == [(reverse("portal:password_reset_sent"), 302)]
        answers.append(re.search(r"<h1>.*?</section>", page.content.decode(), re.S).group(0))
    assert answers[0] == answers[1] == answers[2]
    assert [m.to for m in mail.outbox] == [[tree.dist_a_admin.email]]


def test_a_bad_email_is_refused_on_the_form(client):
    page = client.post(reverse("portal:password_reset"), {"email": "not an email"})
    assert page.status_code == 200 and "Enter a valid email address" in page.content.decode()


def test_the_link_sets_a_new_password_once_and_ends_every_session(
    client, tree, django_capture_on_commit_callbacks
):
    user = tree.dist_a_admin
    elsewhere = client.__class__()
    elsewhere.post(reverse("portal:login"), {"username": user.email, "password": PASSWORD})
    assert elsewhere.get(reverse("portal:profile")).status_code == 200
    ask(client, user.email, django_capture_on_commit_callbacks)
    path = link_path()
    form = client.get(path, follow=True)
    set_url = form.redirect_chain[-1][0]
    html = form.content.decode()
    # The policy is shown before anyone types; the token left the address bar.
    assert "at least 10 characters" in html and "commonly used password" in html
    assert "set-password" in set_url
    weak = client.post(set_url, {"new_password": "password", "new_password_again": "password"})
    assert "too common" in weak.content.decode() or "too short" in weak.content.decode()
    differ = client.post(set_url, {"new_password": NEW, "new_password_again": NEW + "x"})
    assert "The two passwords differ." in differ.content.decode()
    done = client.post(set_url, {"new_password": NEW, "new_password_again": NEW}, follow=True)
    assert "Your password has been changed" in done.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW)
    # The other session is over; the link is spent.
    assert elsewhere.get(reverse("portal:profile")).status_code == 302
    assert not SignInSession.objects.filter(user=user).exists()
    again = client.get(path, follow=True).content.decode()
    assert "This link does not work" in again
    assert AuditEntry.objects.filter(action="user.password_change", changes__how="reset link").count() == 1
    assert client.post(reverse("portal:login"), {"username": user.email, "password": NEW}).status_code == 302


def test_an_expired_link_changes_nothing(client, tree, settings, django_capture_on_commit_callbacks):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    with time_machine.travel(START, tick=False) as clock:
        ask(client, tree.msp_a1_admin.email, django_capture_on_commit_callbacks)
        path = link_path()
        clock.move_to(START + timedelta(minutes=61))
        page = client.get(path, follow=True)
        assert "This link does not work" in page.content.decode() and "60 minutes" in page.content.decode()
        posted = client.post(path, {"new_password": NEW, "new_password_again": NEW})
        assert "This link does not work" in posted.content.decode()
    tree.msp_a1_admin.refresh_from_db()
    assert tree.msp_a1_admin.check_password(PASSWORD)


def test_a_wrong_link_changes_nothing(client, tree):
    path = reverse("portal:password_reset_confirm", kwargs={"uidb64": "MQ", "token": "abc-def"})
    page = client.get(path)
    assert page.status_code == 200 and "This link does not work" in page.content.decode()
    assert not AuditEntry.objects.filter(action="user.password_change").exists()


def test_a_user_who_lost_portal_access_after_the_email_gets_nowhere(
    client, tree, django_capture_on_commit_callbacks
):
    ask(client, tree.msp_a1_admin.email, django_capture_on_commit_callbacks)
    path = link_path()
    tree.msp_a1.portal_access = tree.msp_a1.PortalAccess.WITHDRAWN
    tree.msp_a1.save(update_fields=["portal_access"])
    assert "This link does not work" in client.get(path, follow=True).content.decode()
