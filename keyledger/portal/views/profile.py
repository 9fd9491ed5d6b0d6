"""The signed-in person's own page: their password, second factor and sessions."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from keyledger.portal.views import account_security


@never_cache
@require_GET
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/profile/index.html", {**account_security.profile_context(request)})
