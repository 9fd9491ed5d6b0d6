from collections.abc import Callable
from contextlib import suppress
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from keyledger.organisations.queries import must_accept_terms

# Paths a signed-in user may reach before accepting the newest Terms of Service.
_OPEN_PREFIXES = ("/static/", "/api/", "/admin/", "/logout/", "/login/", "/terms/", "/invitations/")


class PortalAccessMiddleware:
    """Signed-in users whose organisation lost portal access are signed out; users who have
    not accepted the newest Terms of Service are sent to accept them before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated and SESSION_KEY in request.session:
            # The auth backend refused the session's user (deactivated, or its organisation's
            # portal access withdrawn): end that session for good rather than carry it along.
            logout(request)
        elif user.is_authenticated and not request.path.startswith(_OPEN_PREFIXES):
            if not user.may_sign_in:
                logout(request)
                return redirect("portal:login")
            if must_accept_terms(user):
                return redirect(reverse("portal:accept_terms") + f"?next={request.path}")
        return self.get_response(request)


class UserTimeZoneMiddleware:
    """Pages show times in the signed-in user's time zone (UTC until they choose one). The API
    answers in UTC whoever asks; CSV files are written in UTC by their own code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The path first: an API request never loads the lazy session user for this.
        zone = ""
        if not request.path.startswith("/api/") and request.user.is_authenticated:
            zone = request.user.time_zone
        timezone.deactivate()
        if zone:
            # A zone gone from the tz database since it was chosen: UTC until chosen again.
            with suppress(ZoneInfoNotFoundError, ValueError):
                timezone.activate(ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
