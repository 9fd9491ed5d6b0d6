"""The Redis the tests share with the processes they start (running here and in CI)."""

import os

REDIS_URL = os.environ.get("KEYLEDGER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
