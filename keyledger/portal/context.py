from django.http import HttpRequest

from keyledger.portal.navigation import tabs_for


def portal(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_tabs": []}
    return {"portal_tabs": tabs_for(user, request.path), "portal_organisation": user.organisation}
