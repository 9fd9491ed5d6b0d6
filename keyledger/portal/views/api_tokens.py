"""The organisation's API tokens: list, create (the secret is shown once), revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from keyledger.access import get_token_for_user, require, tokens_for_user
from keyledger.api import actions
from keyledger.api.models import ApiToken
from keyledger.audit.actor import Actor
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.api_tokens import NewTokenForm
from keyledger.portal.forms.errors import add_action_errors


def _page(
    request: HttpRequest, form: NewTokenForm, *, created: ApiToken | None = None, secret: str = ""
) -> HttpResponse:
    now = timezone.now()
    tokens = list(tokens_for_user(request.user).select_related("organisation", "created_by__organisation"))
    for token in tokens:
        # Why the API refuses the token now (expired, its creator deactivated or gone), for the list.
        token.refused_because = None if token.is_revoked else token.refusal(now)
    context = {
        "tokens": tokens,
        "form": form,
        "created": created,
        "secret": secret,
    }
    return render(request, "portal/api_tokens/list.html", context)


# never_cache: the response that shows a new token's secret must not be kept by any cache.
@never_cache
@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    if request.method != "POST":
        return _page(request, NewTokenForm())
    form = NewTokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = actions.create_token(
                organisation=request.user.organisation,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=form.expires_at,
                actor=Actor.from_request(request),
            )
        except ValidationError as exc:
            add_action_errors(form, exc, {"expires_at": "expires_on"})
        else:
            # Shown in this response only: it is stored hashed and cannot be shown again.
            return _page(request, NewTokenForm(), created=token, secret=secret)
    return _page(request, form)


@login_required
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    token = get_token_for_user(request.user, token_id)
    if request.method != "POST":
        return render(request, "portal/api_tokens/revoke.html", {"token": token})
    try:
        actions.revoke_token(token=token, actor=Actor.from_request(request))
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Token {token.name} ({token.prefix}) is revoked; programs using it are refused."
        )
    return redirect("portal:api_tokens")
