import pytest

from keyledger.testing.tree import Tree, build_tree


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is the production hasher; tests that are not about hashing use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
