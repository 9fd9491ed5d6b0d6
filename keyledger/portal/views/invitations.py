"""The emailed single-use link: no sign-in needed, the token is the key."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.organisations import actions
from keyledger.organisations.models import Invitation
from keyledger.portal.forms.errors import add_action_errors
from keyledger.portal.forms.invitations import AcceptInvitationForm

GONE = {
    "invalid": "This link does not belong to any invitation. Check that you copied the whole link from the email.",
    "used": "This link has already been used: it works once. If you set your password, sign in.",
    "revoked": "This invitation was withdrawn by the organisation that sent it.",
    "expired": "This link has expired. Ask the person who invited you to send a new invitation.",
}


def _gone(request: HttpRequest, reason: str) -> HttpResponse:
    return render(
        request,
        "portal/onboarding/invitation_gone.html",
        {"reason": reason, "explanation": GONE[reason]},
        status=404 if reason == "invalid" else 410,
    )


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = actions.find_invitation(token)
    if found is None:
        return _gone(request, "invalid")
    status = found.status_at(timezone.now())
    if status != "usable":
        return _gone(request, status)
    terms = actions.terms_required_for(found.organisation)
    form = AcceptInvitationForm(
        request.POST if request.method == "POST" else None, invitation=found, terms=terms
    )
    if form.is_valid():
        if terms is not None and request.POST.get("terms_version") != str(terms.pk):
            form.add_error(
                "accept_terms",
                "The Terms of Service changed while you were reading; read and accept this version.",
            )
        else:
            try:
                user = actions.accept_invitation(
                    token=token,
                    password=form.cleaned_data["password"],
                    full_name=form.cleaned_data["full_name"],
                    accept_terms=terms,
                    details=form.details(),
                    actor=Actor.from_request(request),
                )
            except ValidationError as exc:
                if getattr(exc, "code", None) in GONE:
                    return _gone(request, exc.code)
                add_action_errors(form, exc, {"name": "company"})
            else:
                login(request, user, backend="keyledger.organisations.auth.EmailBackend")
                messages.success(request, f"Welcome to the portal, {user.full_name or user.email}.")
                return redirect("portal:home")
    context = {
        "invitation": found,
        "organisation": found.organisation,
        "form": form,
        "terms": terms,
        "is_msp_invite": found.purpose == Invitation.Purpose.MSP_INVITE,
    }
    return render(request, "portal/onboarding/invitation.html", context)
