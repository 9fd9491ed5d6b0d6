"""Statements: list, get, CSV, Finalise."""

from ninja import Router

from keyledger.api.auth import token_auth

router = Router(tags=["Statements"], auth=token_auth)
