"""Running Keyledger in production: the server command, health probes, metrics and request logs."""
