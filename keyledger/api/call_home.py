"""The products' call-home protocol, version 1 (SPEC §7)."""

from ninja import Router

router = Router(tags=["Call home"])
