"""Keyledger's settings plus slow test-only views (tests.ops.slow_urls), for the server tests:
a request that is still under way when SIGTERM arrives, and one that holds a database
connection for a while."""

from keyledger.settings import *  # noqa: F403

ROOT_URLCONF = "tests.ops.slow_urls"
