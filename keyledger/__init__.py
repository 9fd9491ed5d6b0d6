"""Keyledger: a channel licensing portal for software vendors."""

__version__ = "0.1.0"
