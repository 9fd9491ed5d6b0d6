from django.urls import path

from keyledger.portal.views import api_tokens

urlpatterns = [
    path("api-tokens/", api_tokens.api_tokens, name="api_tokens"),
    path("api-tokens/<int:token_id>/revoke/", api_tokens.revoke_api_token, name="revoke_api_token"),
]
