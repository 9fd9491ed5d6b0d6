import importlib

import pytest
from django.apps import apps

from keyledger.testing.tree import Tree, build_tree


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is the production hasher; tests that are not about hashing use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _data_migrations_survive_flush(request, django_db_blocker):
    """A transactional test (live server, real concurrency) ends by emptying every table,
    the product catalog that a data migration installed too: each one starts by putting it
    back. (pytest-django runs transactional tests after the others, so those keep theirs.)"""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get(
        "transaction", bool(marker.args and marker.args[0])
    )
    if transactional or {"transactional_db", "live_server"} & set(request.fixturenames):
        request.getfixturevalue("django_db_setup")  # the test database, never the real one
        catalog = importlib.import_module("keyledger.keys.migrations.0002_default_catalog")
        with django_db_blocker.unblock():
            catalog.install_catalog(apps, None)
    yield


@pytest.fixture
def tree(db) -> Tree:
    return build_tree()


@pytest.fixture
def client_for(client):
    """client_for(user): the test client signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
