"""Signing in with a second factor, and setting it up or turning it off on the profile."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.testing.tree import PASSWORD
from keyledger.twofactor.actions import secret_for_people
from keyledger.twofactor.devices import has_two_factor, recovery_codes_left
from keyledger.twofactor.models import Scope
from tests.twofactor.helpers import code_for, enrol, require

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LOGIN = reverse("portal:login")
SECOND_STEP = reverse("portal:two_factor_sign_in")


@pytest.fixture(autouse=True)
def clock():
    cache.clear()  # the sign-in throttle counts in the cache
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
    cache.clear()


def password_step(client, user, password=PASSWORD, next_url=""):
    url = LOGIN + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": user.email, "password": password, "next": next_url})


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def test_the_password_alone_does_not_sign_in_a_user_with_a_second_factor(tree, client, clock):
    user = tree.msp_a1_admin
    key, _ = enrol(user)
    response = password_step(client, user)
    assert response["Location"] == SECOND_STEP
    assert not signed_in(client)
    assert client.get(reverse("portal:profile"))["Location"].startswith(LOGIN)
    page = client.get(SECOND_STEP)
    assert page.status_code == 200 and user.email in page.text
    clock.shift(30)
    response = client.post(SECOND_STEP, {"code": code_for(key)})
    assert response["Location"] == reverse("portal:home")
    assert signed_in(client)


def test_a_user_without_a_second_factor_signs_in_with_the_password(tree, client):
    response = password_step(client, tree.msp_a1_admin)
    assert response["Location"] == reverse("portal:home") and signed_in(client)


def test_the_second_step_keeps_where_the_user_was_going(tree, client, clock):
    key, _ = enrol(tree.msp_a1_admin)
    password_step(client, tree.msp_a1_admin, next_url="/profile/")
    clock.shift(30)
    assert client.post(SECOND_STEP, {"code": code_for(key)})["Location"] == "/profile/"


def test_a_wrong_code_is_refused_audited_and_counted_with_wrong_passwords(tree, client, clock):
    user = tree.msp_a1_admin
    key, _ = enrol(user)
    for _ in range(2):
        password_step(client, user, password="not the password")
    password_step(client, user)
    for _ in range(2):
        page = client.post(SECOND_STEP, {"code": "000000"})
        assert "That code is not right" in page.text and not signed_in(client)
    page = client.post(SECOND_STEP, {"code": "000001"})  # the fifth failure: 2 passwords, 3 codes
    assert "Signing in is paused for 1 minute" in page.text
    clock.shift(30)
    page = client.post(SECOND_STEP, {"code": code_for(key)})  # even the right code waits
    assert "Signing in is paused" in page.text and not signed_in(client)
    failures = AuditEntry.objects.filter(action="user.sign_in_failed", object_id=str(user.pk))
    assert [e.changes["reason"] for e in failures.order_by("id")] == ["wrong password"] * 2 + [
        "wrong two-factor code"
    ] * 3
    assert AuditEntry.objects.filter(action="user.sign_in_locked", object_id=str(user.pk)).count() == 1
    clock.shift(60)
    password_step(client, user)
    assert client.post(SECOND_STEP, {"code": code_for(key)})["Location"] == reverse("portal:home")


def test_the_second_step_expires(tree, client, clock):
    key, _ = enrol(tree.msp_a1_admin)
    password_step(client, tree.msp_a1_admin)
    clock.shift(301)
    response = client.post(SECOND_STEP, {"code": code_for(key)}, follow=True)
    assert "The sign-in took too long" in response.text and not signed_in(client)


def test_without_a_password_there_is_no_second_step(client):
    assert client.get(SECOND_STEP)["Location"] == LOGIN


def test_a_recovery_code_signs_in_once(tree, client):
    user = tree.msp_a1_admin
    _, codes = enrol(user)
    password_step(client, user)
    response = client.post(SECOND_STEP, {"code": codes[0]}, follow=True)
    assert signed_in(client)
    assert "You signed in with a recovery code; 9 left." in response.text
    assert AuditEntry.objects.filter(action="two_factor.recovery_code_used").count() == 1
    client.post(reverse("portal:logout"))
    password_step(client, user)
    page = client.post(SECOND_STEP, {"code": codes[0]})
    assert "That code is not right" in page.text and not signed_in(client)
    assert recovery_codes_left(user) == 9


def test_setting_it_up_from_the_profile(tree, client_for, clock):
    user = tree.dist_a_member
    client = client_for(user)
    profile = client.get(reverse("portal:profile")).text
    assert "Set up two-factor authentication" in profile
    page = client.get(reverse("portal:two_factor_setup"))
    html = page.text
    # The QR code is inline SVG without style attributes (the CSP allows no inline styles).
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "style" not in svg and "<path" in svg
    key = client.session["two_factor_setup_key"]
    assert secret_for_people(key) in html
    wrong = client.post(reverse("portal:two_factor_setup"), {"code": "12345"})
    assert "That code is not right" in wrong.text and not has_two_factor(user)
    response = client.post(reverse("portal:two_factor_setup"), {"code": code_for(key)})
    assert response["Location"] == reverse("portal:two_factor_recovery_codes")
    codes_page = client.get(response["Location"]).text
    assert codes_page.count("<li><code>") == 10
    # Shown once only.
    assert "<li><code>" not in client.get(reverse("portal:two_factor_recovery_codes")).text
    assert has_two_factor(user) and "Recovery codes left: 10" in client.get(reverse("portal:profile")).text


def test_new_recovery_codes_from_the_profile(tree, client_for, clock):
    key, old = enrol(tree.dist_a_member)
    client = client_for(tree.dist_a_member)
    clock.shift(30)
    response = client.post(reverse("portal:two_factor_recovery_codes"), {"code": code_for(key)}, follow=True)
    assert response.text.count("<li><code>") == 10 and old[0] not in response.text


def test_turning_it_off(tree, client_for, clock):
    key, _ = enrol(tree.dist_a_member)
    client = client_for(tree.dist_a_member)
    clock.shift(30)
    response = client.post(
        reverse("portal:two_factor_turn_off"), {"password": PASSWORD, "code": code_for(key)}, follow=True
    )
    assert "Two-factor authentication is off." in response.text
    assert not has_two_factor(tree.dist_a_member)


def test_turning_it_off_is_refused_where_it_is_required(tree, client_for, clock):
    _, codes = enrol(tree.msp_a1_member)
    require(tree.dist_a, Scope.MSPS, on=NOW.date())
    client = client_for(tree.msp_a1_member)
    assert "Turn off" not in client.get(reverse("portal:profile")).text
    response = client.post(reverse("portal:two_factor_turn_off"), {"password": PASSWORD, "code": codes[0]})
    assert (
        "Northwind Distribution requires two-factor authentication: it cannot be turned off." in response.text
    )
    assert has_two_factor(tree.msp_a1_member) and recovery_codes_left(tree.msp_a1_member) == 10


def test_setting_it_up_signs_out_the_other_sessions(tree, clock):
    user = tree.dist_a_member
    here, elsewhere = Client(), Client()
    password_step(here, user)
    password_step(elsewhere, user)
    here.get(reverse("portal:two_factor_setup"))
    key = here.session["two_factor_setup_key"]
    here.post(reverse("portal:two_factor_setup"), {"code": code_for(key)})
    assert here.get(reverse("portal:profile")).status_code == 200
    assert elsewhere.get(reverse("portal:profile"))["Location"].startswith(LOGIN)
    assert AuditEntry.objects.get(action="two_factor.enrol").changes == {"other_sessions_ended": 1}


def test_guesses_on_the_profile_count_like_sign_in_guesses(tree, client_for, clock):
    key, _ = enrol(tree.dist_a_member)
    client = client_for(tree.dist_a_member)
    turn_off = reverse("portal:two_factor_turn_off")
    for _ in range(3):
        client.post(turn_off, {"password": "a guess", "code": "000000"})
    for _ in range(2):
        client.post(reverse("portal:two_factor_recovery_codes"), {"code": "000000"})
    clock.shift(30)
    page = client.post(turn_off, {"password": PASSWORD, "code": code_for(key)})
    assert "Too many wrong passwords or codes. Try again in 1 minute." in page.text
    assert has_two_factor(tree.dist_a_member)
    reasons = AuditEntry.objects.filter(action="user.sign_in_failed").values_list(
        "changes__reason", flat=True
    )
    assert sorted(set(reasons)) == [
        "wrong password or code (turning off two-factor)",
        "wrong two-factor code (new recovery codes)",
    ]
