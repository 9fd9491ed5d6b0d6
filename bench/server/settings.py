"""The settings of the server the call-home benchmark starts: Keyledger's own, plus a no-op
endpoint (bench.server.urls) that goes through the same middleware as call home. Only the
benchmark mounts it; the product's URLs never include it."""

from keyledger.settings import *  # noqa: F403 (the product's settings, unchanged)

ROOT_URLCONF = "bench.server.urls"
