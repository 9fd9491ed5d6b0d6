import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    # Throttle counters live in the cache, which outlives a test: each test starts from none.
    cache.clear()
    yield
    cache.clear()
