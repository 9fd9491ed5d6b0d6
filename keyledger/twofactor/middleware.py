from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from keyledger.twofactor.devices import has_two_factor
from keyledger.twofactor.policy import required_for

# Set on a session that passed the second step (or enrolled): its user has a device, so
# neither the notice nor the enforcement concerns it, and its requests cost no query.
VERIFIED_SESSION_KEY = "two_factor_verified"

# What a user who must set up two-factor authentication can still reach: signing out, the
# Terms of Service (they come first) and the set-up itself. /api/ takes tokens, not sessions.
_OPEN_PREFIXES = (
    "/static/",
    "/api/",
    "/logout/",
    "/login/",
    "/terms/",
    "/invitations/",
    "/profile/two-factor/set-up/",
    "/profile/two-factor/recovery-codes/",
)


class TwoFactorMiddleware:
    """Sends users whose organisation (or one above it) requires two-factor authentication, and
    who have not set it up, to set it up before anything else; before the day, marks the request
    for the notice. The Django admin's own sign-in page, which knows no second step, leads to the
    portal's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._admin_login = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._admin_login is None:
            self._admin_login = reverse("admin:login")
        if request.path == self._admin_login:
            target = request.GET.get("next") or reverse("admin:index")
            return redirect(f"{reverse('portal:login')}?{urlencode({'next': target})}")
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.session.get(VERIFIED_SESSION_KEY)
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            requirement = required_for(user)
            if requirement is not None and not has_two_factor(user):
                if requirement.in_force:
                    messages.warning(
                        request,
                        f"{requirement.by.name} requires two-factor authentication. "
                        "Set it up to go on using the portal.",
                    )
                    return redirect("portal:two_factor_setup")
                request.two_factor_notice = requirement
        return self.get_response(request)
