"""Billing and report benchmarks on a synthetic channel: `make bench-billing`
(python -m bench.billing --help)."""
