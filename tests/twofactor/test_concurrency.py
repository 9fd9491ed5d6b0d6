"""A code used twice at the same moment, from two connections (two browsers, two web
processes): one use wins, the other is a wrong code. On PostgreSQL the user's row lock and
the compare-and-set on the device decide; on SQLite write transactions queue."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from keyledger.audit.actor import Actor
from keyledger.testing import concurrency
from keyledger.testing.tree import build_tree
from keyledger.twofactor import actions
from keyledger.twofactor.devices import recovery_codes_left
from tests.twofactor.helpers import code_for, enrol


@pytest.fixture
def shared_database(transactional_db, tmp_path):
    cache.clear()
    yield from concurrency.shared_database(tmp_path)
    cache.clear()


def twice_at_once(connect, user, code: str) -> list:
    def use():
        return actions.verify_sign_in(user=user, code=code, actor=Actor(user=user)).used

    return concurrency.race(connect, use, use)


@pytest.mark.postgres_only
def test_a_recovery_code_used_twice_at_once_works_once(shared_database):
    user = build_tree().msp_a1_admin
    _, codes = enrol(user)
    results = twice_at_once(shared_database, user, codes[0])
    assert sorted(results, key=str) == [None, "recovery code"], results
    assert recovery_codes_left(user) == 9


@pytest.mark.postgres_only
def test_an_app_code_used_twice_at_once_works_once(shared_database):
    user = build_tree().msp_a1_admin
    key, _ = enrol(user)
    results = twice_at_once(shared_database, user, code_for(key, steps_ahead=1))
    assert sorted(results, key=str) == [None, "authenticator"], results
