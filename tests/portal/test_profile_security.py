"""The profile's password and sessions sections."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.security.models import SignInSession
from keyledger.testing.tree import PASSWORD

pytestmark = pytest.mark.django_db

PROFILE = reverse("portal:profile")
CHANGE = reverse("portal:change_password")
SIGN_OUT_OTHERS = reverse("portal:sign_out_other_sessions")
NEW = "a fresh long passphrase"
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def signed_in(user, agent: str, ip: str) -> Client:
    client = Client(headers={"user-agent": agent}, REMOTE_ADDR=ip)
    response = client.post(reverse("portal:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_the_sessions_are_listed_with_this_one_marked(tree):
    user = tree.msp_a1_member
    laptop = signed_in(user, FIREFOX_MAC, "192.0.2.10")
    signed_in(user, CHROME_WIN, "198.51.100.20")
    html = laptop.get(PROFILE).content.decode()
    assert "Firefox on macOS" in html and "Chrome on Windows" in html
    assert "192.0.2.10" in html and "198.51.100.20" in html
    assert html.count("This session") == 1
    assert "Sign out other sessions" in html
    assert "at least 10 characters" in html  # the password policy, before typing


def test_sign_out_other_sessions_ends_the_other_client_only(tree):
    user = tree.dist_a_billing
    mine = signed_in(user, FIREFOX_MAC, "192.0.2.10")
    other = signed_in(user, CHROME_WIN, "198.51.100.20")
    page = mine.post(SIGN_OUT_OTHERS, follow=True)
    assert "Signed out 1 other session." in page.content.decode()
    assert mine.get(PROFILE).status_code == 200
    gone = other.get(PROFILE)
    assert gone.status_code == 302 and gone["Location"].startswith(reverse("portal:login"))
    entry = AuditEntry.objects.get(action="user.sign_out_other_sessions")
    assert entry.actor_user == user and entry.ip_address == "192.0.2.10"
    assert "no other sessions" in mine.post(SIGN_OUT_OTHERS, follow=True).content.decode()


def test_sign_out_other_sessions_is_a_post(client, tree):
    client.force_login(tree.dist_a_readonly)
    assert client.get(SIGN_OUT_OTHERS).status_code == 405


def test_changing_the_password_keeps_this_session_and_ends_the_others(tree):
    user = tree.dist_a_readonly
    mine = signed_in(user, FIREFOX_MAC, "192.0.2.10")
    other = signed_in(user, CHROME_WIN, "198.51.100.20")
    page = mine.post(
        CHANGE, {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW}, follow=True
    )
    assert "Your password has been changed" in page.content.decode()
    assert mine.get(PROFILE).status_code == 200
    assert other.get(PROFILE).status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert SignInSession.objects.filter(user=user).count() == 1
    entry = AuditEntry.objects.get(action="user.password_change")
    assert entry.changes["how"] == "profile" and entry.ip_address == "192.0.2.10"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"current_password": "wrong", "new_password": NEW, "new_password_again": NEW},
            "not your current password",
        ),
        ({"current_password": PASSWORD, "new_password": NEW, "new_password_again": "other"}, "differ"),
        (
            {"current_password": PASSWORD, "new_password": "12345678", "new_password_again": "12345678"},
            "too short",
        ),
        (
            {"current_password": PASSWORD, "new_password": "", "new_password_again": ""},
            "This field is required",
        ),
    ],
)
def test_bad_input_changes_nothing(client, tree, data, error):
    user = tree.msp_a2_admin
    client.force_login(user)
    page = client.post(CHANGE, data)
    assert page.status_code == 200 and error in page.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action="user.password_change").exists()


def test_guessing_the_current_password_is_throttled(client, tree):
    user = tree.msp_a2_admin
    client.force_login(user)
    for _ in range(5):
        client.post(CHANGE, {"current_password": "wrong", "new_password": NEW, "new_password_again": NEW})
    page = client.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW})
    assert "Too many wrong passwords" in page.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_profile_actions_need_a_sign_in(client):
    for url in (CHANGE, SIGN_OUT_OTHERS):
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))
