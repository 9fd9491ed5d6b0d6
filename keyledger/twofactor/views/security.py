"""An organisation's Security page (who must use two-factor authentication) and an admin's
reset of a user's second factor."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat

from keyledger.access import get_organisation_for_user, get_user_for_user, require
from keyledger.audit.actor import Actor
from keyledger.audit.naming import actor_name
from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.errors import add_action_errors
from keyledger.twofactor import actions
from keyledger.twofactor.forms import RemoveRequirementForm, RequirementForm
from keyledger.twofactor.models import Scope, TwoFactorRequirement
from keyledger.twofactor.policy import requirements_reaching, scopes_settable_by

SCOPE_TITLES = {
    Scope.OWN: "Users of {name}",
    Scope.DISTRIBUTORS: "Users of every distributor",
    Scope.MSPS: "Users of {name}'s MSPs",
}


def _set_by(rule: TwoFactorRequirement | None, viewer: Organisation) -> str:
    if rule is None or rule.set_by is None:
        return ""
    # Someone above the viewer is named by their organisation only (keyledger.audit.naming).
    return actor_name(actor_user=rule.set_by, label=rule.set_by.email, viewer=viewer)


def _sections(org: Organisation, posted: RequirementForm | None, viewer: Organisation) -> list[dict]:
    rules = {
        r.scope: r
        for r in TwoFactorRequirement.objects.filter(organisation=org).select_related("set_by__organisation")
    }
    sections = []
    for scope in scopes_settable_by(org):
        rule = rules.get(scope)
        if posted is not None and posted.data.get("scope") == scope:
            form = posted
        else:
            initial = {"scope": scope, **({"applies_from": rule.applies_from} if rule else {})}
            form = RequirementForm(initial=initial, scopes=[scope], prefix=None)
        sections.append(
            {
                "scope": scope,
                "title": SCOPE_TITLES[scope].format(name=org.name),
                "rule": rule,
                "set_by": _set_by(rule, viewer),
                "form": form,
            }
        )
    return sections


@login_required
def organisation_security(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    org = get_organisation_for_user(request.user, organisation_id)
    scopes = scopes_settable_by(org)
    posted = None
    if request.method == "POST":
        actor = Actor.from_request(request)
        if request.POST.get("remove"):
            remove = RemoveRequirementForm(request.POST)
            if remove.is_valid():
                try:
                    actions.remove_requirement(
                        organisation=org, scope=remove.cleaned_data["scope"], actor=actor
                    )
                except ValidationError as exc:
                    messages.error(request, " ".join(exc.messages))
                else:
                    messages.success(request, "The requirement is removed.")
            return redirect(request.path)
        posted = RequirementForm(request.POST, scopes=scopes)
        if posted.is_valid():
            try:
                actions.set_requirement(organisation=org, actor=actor, **posted.cleaned_data)
            except ValidationError as exc:
                add_action_errors(posted, exc)
            else:
                day = dateformat.format(posted.cleaned_data["applies_from"], "j F Y")
                messages.success(request, f"Two-factor authentication is required from {day}.")
                return redirect(request.path)
        elif "scope" in posted.errors:
            # Only a hand-made request names what this organisation cannot require.
            messages.error(request, f"{org.name} cannot require this; nothing was changed.")
    context = {
        "org": org,
        "sections": _sections(org, posted, request.user.organisation),
        "from_above": [r for r in requirements_reaching(org) if r.organisation_id != org.pk],
    }
    return render(request, "portal/twofactor/security.html", context)


@login_required
def reset_user(request: HttpRequest, user_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    target = get_user_for_user(request.user, user_id)
    if request.method == "POST":
        try:
            actions.reset(user=target, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"Two-factor authentication of {target.email} is reset and they are signed out: they "
                "sign in with their password and set it up again.",
            )
    return redirect(reverse("portal:user", kwargs={"user_id": target.pk}))
