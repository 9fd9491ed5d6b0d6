"""The portal's pages. Each area of the portal keeps its routes in its own module."""

from keyledger.portal.urls import api_tokens, audit_log, auth, key_management, keys, onboarding

app_name = "portal"

urlpatterns = [
    *auth.urlpatterns,
    *onboarding.urlpatterns,
    *key_management.urlpatterns,
    *keys.urlpatterns,
    *audit_log.urlpatterns,
    *api_tokens.urlpatterns,
]
