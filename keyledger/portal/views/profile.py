"""The signed-in person's own page: their password, second factor, sessions and time zone."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from keyledger.audit.actor import Actor
from keyledger.organisations.actions.users import set_time_zone
from keyledger.portal.forms.time_zone import TimeZoneForm
from keyledger.portal.views import account_security


def _render(
    request: HttpRequest, *, time_zone_form: TimeZoneForm | None = None, status: int = 200
) -> HttpResponse:
    form = time_zone_form or TimeZoneForm(initial={"time_zone": request.user.time_zone})
    context = {**account_security.profile_context(request), "time_zone_form": form}
    return render(request, "portal/profile/index.html", context, status=status)


@never_cache
@require_GET
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _render(request)


@never_cache
@login_required
@require_POST
def change_time_zone(request: HttpRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        try:
            user = set_time_zone(
                user=request.user, time_zone=form.cleaned_data["time_zone"], actor=Actor.from_request(request)
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Times are shown in {user.time_zone or 'UTC'}.")
            return redirect(reverse("portal:profile") + "#time-zone")
    return _render(request, time_zone_form=form, status=400)
