"""Loaded by pytest before Django (`-p keyledger.testing.environment`): the environment of a test run.

The settings module refuses to start without SECRET_KEY when DEBUG is off, which is
what tests run with; give the test run its own throw-away values.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("KEYLEDGER_DATA_DIR", tempfile.mkdtemp(prefix="keyledger-test-"))
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("KEYLEDGER_STATIC_MANIFEST", "0")
