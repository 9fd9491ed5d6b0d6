"""Keyledger's session engine: Django's database sessions, by the hash of the key, with the
user, address and browser beside them."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY

from keyledger.security.models import SignInSession, hash_session_key
from keyledger.security.session_store import SessionStore

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_a_session_is_stored_by_the_hash_of_its_key_and_loads_again(tree):
    store = SessionStore()
    store.client = ("192.0.2.5", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
    store[SESSION_KEY] = str(tree.dist_a_admin.pk)
    store["colour"] = "blue"
    store.save()
    row = SignInSession.objects.get(user=tree.dist_a_admin)
    assert row.session_key == hash_session_key(store.session_key) != store.session_key
    assert row.ip_address == "192.0.2.5" and row.device == "Firefox on Linux"
    again = SessionStore(session_key=store.session_key)
    assert again["colour"] == "blue" and again.exists(store.session_key)
    assert SessionStore(session_key=row.session_key).get("colour") is None  # the hash opens nothing


def test_saving_again_keeps_when_it_began_and_a_new_key_begins_anew(tree):
    with time_machine.travel(START, tick=False) as clock:
        store = SessionStore()
        store[SESSION_KEY] = str(tree.dist_a_admin.pk)
        store.save()
        clock.move_to(START + timedelta(minutes=5))
        loaded = SessionStore(session_key=store.session_key)
        loaded["more"] = 1
        loaded.save()
        row = SignInSession.objects.get(user=tree.dist_a_admin)
        assert (row.created_at, row.last_seen_at) == (START, START + timedelta(minutes=5))
        clock.move_to(START + timedelta(minutes=9))
        old_key = loaded.session_key
        loaded.cycle_key()
        (row,) = SignInSession.objects.filter(user=tree.dist_a_admin)
        assert row.session_key == hash_session_key(loaded.session_key) != hash_session_key(old_key)
        assert row.created_at == START + timedelta(minutes=9)


def test_deleting_ends_the_session(tree):
    store = SessionStore()
    store[SESSION_KEY] = str(tree.dist_a_admin.pk)
    store.save()
    store.delete()
    assert not SignInSession.objects.exists()
    assert SessionStore(session_key=store.session_key).load() == {}
