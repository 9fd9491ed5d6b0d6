"""Keyledger demo data: keyledger.demo.load puts keyledger.demo.data into an empty database."""
