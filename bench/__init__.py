"""Benchmarks of Keyledger's hot paths: `make bench` (python -m bench --help)."""
