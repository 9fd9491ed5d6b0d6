import importlib
import uuid
from collections.abc import Iterator

import pytest
from django.apps import apps

from keyledger.keys.models import Product
from keyledger.testing.redis import REDIS_URL
from keyledger.testing.tree import Tree, build_tree


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is the production hasher; tests that are not about hashing use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_catalog(request, django_db_blocker):
    """Every test that uses the database finds the product catalog a data migration installs.

    A transactional test (live server, real concurrency) ends by emptying every table, the
    catalog too, and under xdist a test of another file may follow it on the same worker."""
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    )
    if uses_db:
        request.getfixturevalue("django_db_setup")  # the test database, never the real one
        with django_db_blocker.unblock():
            if not Product.objects.exists():
                catalog = importlib.import_module("keyledger.keys.migrations.0002_default_catalog")
                catalog.install_catalog(apps, None)
    yield


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A cache key prefix of this test's own in the shared Redis (for the processes a test
    starts), removed afterwards."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL} (KEYLEDGER_TEST_REDIS_URL)")
    prefix = f"kl-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


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


# Transactional tests that make statements final remove them before the flush (see there).
from keyledger.testing.billing import final_statements_removable  # noqa: E402, F401
