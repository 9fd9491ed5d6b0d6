"""The portal's pages. Each area of the portal keeps its routes in its own module."""

from keyledger.portal.urls import (
    api_tokens,
    audit_log,
    auth,
    key_management,
    keys,
    onboarding,
    overview,
    price_lists,
    profile,
    reports,
    search,
    security,
    statements,
    twofactor,
)

app_name = "portal"

urlpatterns = [
    *auth.urlpatterns,
    *overview.urlpatterns,
    *onboarding.urlpatterns,
    *key_management.urlpatterns,
    *keys.urlpatterns,
    *reports.urlpatterns,
    *statements.urlpatterns,
    *price_lists.urlpatterns,
    *audit_log.urlpatterns,
    *api_tokens.urlpatterns,
    *profile.urlpatterns,
    *security.urlpatterns,
    *twofactor.urlpatterns,
    *search.urlpatterns,
]
