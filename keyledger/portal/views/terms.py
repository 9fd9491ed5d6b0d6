"""The Terms of Service: accepting the newest version, and publishing one (vendor staff)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from keyledger.access import require
from keyledger.audit.actor import Actor
from keyledger.organisations import actions
from keyledger.organisations.models import TermsVersion
from keyledger.organisations.queries import current_terms, must_accept_terms
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.errors import add_action_errors
from keyledger.portal.forms.invitations import AcceptTermsForm, PublishTermsForm
from keyledger.portal.views.onboarding import refused


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@login_required
def accept_terms(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if not must_accept_terms(request.user):
        return redirect(next_url)
    terms = current_terms()
    form = AcceptTermsForm(
        request.POST if request.method == "POST" else None, initial={"terms_version": terms.pk}
    )
    if form.is_valid():
        if form.cleaned_data["terms_version"] != terms.pk:
            # Start again from the page, so the form carries the version now shown.
            messages.warning(
                request, "The Terms of Service changed while you were reading; read and accept this version."
            )
            return redirect(request.get_full_path())
        actions.record_terms_acceptance(user=request.user, terms=terms, actor=Actor.from_request(request))
        messages.success(request, f"Thank you: you accepted the {terms.title} (version {terms.version}).")
        return redirect(next_url)
    return render(
        request, "portal/onboarding/accept_terms.html", {"terms": terms, "form": form, "next": next_url}
    )


@login_required
def terms(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    if not request.user.is_vendor_staff:
        return refused(request, "The Terms of Service are kept by vendor staff.")
    form = PublishTermsForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            published = actions.publish_terms(**form.cleaned_data, actor=Actor.from_request(request))
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request,
                f"Version {published.version} published: everyone outside the vendor accepts it at their next request.",
            )
            return redirect("portal:terms")
    versions = TermsVersion.objects.annotate(accepted_by=Count("acceptances")).order_by("-version")
    return render(request, "portal/onboarding/terms.html", {"form": form, "versions": versions})
