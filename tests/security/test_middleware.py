"""Sessions: ended elsewhere, idle too long or too old, a session is signed out on its next
request, with a word on the sign-in page; last seen is noted at most once a minute."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyledger.security.actions import end_other_sessions
from keyledger.security.models import SignInSession, hash_session_key
from keyledger.testing.tree import PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
PROFILE = reverse("portal:profile")


def sign_in(client, user, **headers):
    response = client.post(reverse("portal:login"), {"username": user.email, "password": PASSWORD}, **headers)
    assert response.status_code == 302, response.content.decode()
    return client


def signed_out_with(client, response, words: str) -> bool:
    if response.status_code != 302 or not response["Location"].startswith(reverse("portal:login")):
        return False
    page = client.get(response["Location"]).content.decode()
    return words in page


def test_signing_in_lists_the_session(client, tree):
    with time_machine.travel(START, tick=False):
        sign_in(
            client,
            tree.dist_a_admin,
            headers={"user-agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537.36"},
        )
    (row,) = SignInSession.objects.filter(user=tree.dist_a_admin)
    assert row.device == "Chrome on Windows" and row.ip_address == "127.0.0.1" and row.created_at == START


def test_last_seen_is_written_at_most_once_a_minute(client, tree):
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, tree.dist_a_admin)
        clock.move_to(START + timedelta(seconds=59))
        client.get(PROFILE)
        assert SignInSession.objects.get(user=tree.dist_a_admin).last_seen_at == START
        clock.move_to(START + timedelta(seconds=61))
        client.get(PROFILE)
        assert SignInSession.objects.get(user=tree.dist_a_admin).last_seen_at == START + timedelta(seconds=61)


def test_an_idle_session_is_signed_out(client, tree, settings):
    settings.KEYLEDGER_SESSION_IDLE_HOURS = 12
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, tree.dist_a_admin)
        clock.move_to(START + timedelta(hours=11, minutes=59))
        assert client.get(PROFILE).status_code == 200
        clock.move_to(START + timedelta(hours=23, minutes=59))
        response = client.get(PROFILE)
        assert signed_out_with(client, response, "signed out after a long time without activity")
        assert client.get(PROFILE).status_code == 302
    assert not SignInSession.objects.filter(user=tree.dist_a_admin).exists()


def test_a_session_ends_at_its_maximum_age_however_busy(client, tree, settings):
    settings.KEYLEDGER_SESSION_MAX_DAYS = 14
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, tree.dist_a_admin)
        for hour in range(0, 14 * 24, 10):
            clock.move_to(START + timedelta(hours=hour))
            assert client.get(PROFILE).status_code == 200
        clock.move_to(START + timedelta(days=14))
        assert signed_out_with(client, client.get(PROFILE), "reached its maximum age")


def test_a_session_ended_elsewhere_is_signed_out_on_its_next_request(client, tree):
    sign_in(client, tree.dist_a_admin)
    SignInSession.objects.filter(user=tree.dist_a_admin).delete()
    response = client.get(PROFILE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


def test_every_session_is_listed_however_it_was_signed_in(client, tree):
    client.force_login(tree.msp_a1_admin)
    assert client.get(PROFILE).status_code == 200
    (row,) = SignInSession.objects.filter(user=tree.msp_a1_admin)
    assert row.session_key == hash_session_key(client.session.session_key)
    # Only the hash of the key is kept.
    assert not SignInSession.objects.filter(session_key=client.session.session_key).exists()


def test_signing_out_removes_the_session_from_the_list(client, tree):
    sign_in(client, tree.dist_a_admin)
    client.post(reverse("portal:logout"))
    assert not SignInSession.objects.filter(user=tree.dist_a_admin).exists()


def test_other_sessions_end_keeping_the_one_named_by_its_django_session_key(tree):
    user = tree.dist_a_admin
    mine, other = Client(), Client()
    sign_in(mine, user)
    sign_in(other, user)
    assert end_other_sessions(user=user, keep=mine.session.session_key) == 1
    assert mine.get(PROFILE).status_code == 200
    assert other.get(PROFILE).status_code == 302


def test_a_session_refused_by_the_backend_is_no_longer_listed(client, tree):
    user = tree.msp_a1_admin
    sign_in(client, user)
    user.__class__.objects.filter(pk=user.pk).update(is_active=False)
    client.get(PROFILE)
    assert not SignInSession.objects.filter(user=user).exists()


def test_sessions_that_ran_out_are_not_listed(tree, settings):
    settings.KEYLEDGER_SESSION_IDLE_HOURS = 12
    user = tree.dist_a_admin
    with time_machine.travel(START, tick=False) as clock:
        sign_in(Client(), user)
        clock.move_to(START + timedelta(hours=13))
        fresh = sign_in(Client(), user)
        page = fresh.get(PROFILE).content.decode()
    assert page.count("This session") == 1 and "You are signed in nowhere else." in page
