"""The Activation Report, the Billing Detail Report and the forecast (SPEC §8 and §9)."""

from ninja import Router

from keyledger.api.auth import token_auth

router = Router(tags=["Reports"], auth=token_auth)
