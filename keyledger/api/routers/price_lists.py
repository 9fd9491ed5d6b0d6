"""Price lists: read for those who see them, write for their issuer."""

from ninja import Router

from keyledger.api.auth import token_auth

router = Router(tags=["Price lists"], auth=token_auth)
