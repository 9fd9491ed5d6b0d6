"""Helpers for Keyledger's own test suite."""
