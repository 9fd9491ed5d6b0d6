"""Distributors and MSPs: the list, one organisation's page, New MSP, Invite, New Distributor,
the agreement, and portal access."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from keyledger.access import get_msp_for_user, get_organisation_for_user, organisations_for_user, require
from keyledger.audit.actor import Actor
from keyledger.audit.naming import actor_name
from keyledger.organisations import actions
from keyledger.organisations.models import Organisation
from keyledger.organisations.queries import latest_organisation_invitation
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.errors import add_action_errors
from keyledger.portal.forms.organisations import (
    AgreementForm,
    GrantAccessForm,
    InviteMspForm,
    NewDistributorForm,
    NewMspForm,
)
from keyledger.portal.lists import Column, sorted_page
from keyledger.portal.views.onboarding import form_page, refused

Kind = Organisation.Kind
Access = Organisation.PortalAccess
PAGE_SIZE = 50


def _posted(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def _detail_url(org: Organisation) -> str:
    return reverse("portal:organisation", kwargs={"organisation_id": org.pk})


def _after_create_url(request: HttpRequest, parent: Organisation) -> str:
    # Back to where the button was: the list for one's own organisation, else the parent's page.
    if parent.pk == request.user.organisation_id:
        return reverse("portal:organisations")
    return _detail_url(parent)


def _key_management_url(org: Organisation) -> str | None:
    if org.kind != Kind.MSP:
        return None
    try:
        return reverse("portal:msp_key_management", kwargs={"msp_id": org.pk})
    except NoReverseMatch:
        return None  # Key Management is not installed


ORGANISATION_COLUMNS = [
    Column("name", "Name", ("sort_name",)),
    Column("kind", "Kind", ("kind", "is_master_msp", "sort_name")),
    Column("access", "Portal access", ("portal_access", "sort_name")),
    Column("region", "Region", ("region", "sort_name")),
    Column("place", "City / Country", ("country", "city", "sort_name")),
]


@login_required
def organisations(request: HttpRequest) -> HttpResponse:
    """The distributors (for vendor staff) or MSPs (for a distributor) below one's own
    organisation, in natural name order by default; each row names its parent when that
    is not one's own organisation."""
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    own = request.user.organisation
    rows = organisations_for_user(request.user).exclude(pk=own.pk).select_related("parent")
    noun, noun_one = ("organisations", "organisation") if own.kind == Kind.VENDOR else ("MSPs", "MSP")
    listing = sorted_page(
        request,
        rows,
        columns=ORGANISATION_COLUMNS,
        default="name",
        per_page=PAGE_SIZE,
        noun=noun,
        noun_one=noun_one,
    )
    context = {"own": own, "listing": listing, "page": listing.page, "query": listing.query}
    return render(request, "portal/onboarding/organisations.html", context)


@login_required
def organisation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    org = get_organisation_for_user(request.user, organisation_id)
    below_own = org.pk != request.user.organisation_id
    is_msp = org.kind == Kind.MSP
    invitations = list(org.invitations.pending(timezone.now()).select_related("created_by__organisation"))
    for invitation in invitations:
        # Sent from an organisation above the viewer's: named by that organisation only.
        sender = invitation.created_by
        invitation.sent_by = (
            actor_name(actor_user=sender, label=sender.email, viewer=request.user.organisation)
            if sender
            else ""
        )
    context = {
        "org": org,
        "users": org.users.order_by("sort_name", "pk"),
        "invitations": invitations,
        "children": org.children.order_by("sort_name", "pk"),
        "key_management_url": _key_management_url(org),
        "can_edit_agreement": request.user.is_vendor_staff and org.kind == Kind.DISTRIBUTOR,
        "can_grant": below_own
        and is_msp
        and org.portal_access in (Access.NONE, Access.WITHDRAWN)
        and org.parent.may_invite_msps,
        "can_withdraw": below_own and is_msp and org.portal_access in (Access.INVITED, Access.ACTIVE),
        "can_resend": below_own and org.portal_access == Access.INVITED,
        # Just made with New MSP: the page leads on to its keys and its people.
        "just_created": request.GET.get("created") == "1" and is_msp and below_own,
    }
    return render(request, "portal/onboarding/organisation.html", context)


@login_required
def new_msp(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    distributor = get_organisation_for_user(request.user, organisation_id, kind=Kind.DISTRIBUTOR)
    back = _after_create_url(request, distributor)
    form = NewMspForm(_posted(request))
    if form.is_valid():
        try:
            msp = actions.create_msp(
                distributor=distributor, **form.cleaned_data, actor=Actor.from_request(request)
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request, f"MSP {msp.name} created. It has no portal access: you manage its keys."
            )
            # Its page, with the next steps: Manage its keys, Invite its people.
            return redirect(f"{_detail_url(msp)}?created=1")
    return form_page(
        request,
        form,
        title=f"New MSP under {distributor.name}",
        intro="An MSP without portal access: you manage its product keys for it.",
        submit="Create MSP",
        back_url=back,
    )


@login_required
def invite_msp(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    distributor = get_organisation_for_user(request.user, organisation_id, kind=Kind.DISTRIBUTOR)
    back = _after_create_url(request, distributor)
    if not distributor.can_invite_msps:
        return refused(request, "The agreement does not allow inviting MSPs to the portal.", back_url=back)
    form = InviteMspForm(_posted(request), distributor=distributor)
    if form.is_valid():
        try:
            msp, invitation, _ = actions.invite_msp(
                distributor=distributor, **form.cleaned_data, actor=Actor.from_request(request)
            )
        except ValidationError as exc:
            add_action_errors(form, exc, {"name": "company"})
        else:
            messages.success(
                request,
                f"{msp.name} is invited: a confirmation email with a single-use link went to {invitation.email}.",
            )
            return redirect(back)
    return form_page(
        request,
        form,
        title=f"Invite an MSP to the portal ({distributor.name})",
        intro="The MSP gets an email with a link that expires; following it, it completes its details, "
        "sets a password and accepts the Terms of Service.",
        submit="Invite",
        back_url=back,
    )


@login_required
def new_distributor(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    parent = get_organisation_for_user(request.user, organisation_id)
    back = _after_create_url(request, parent)
    if not parent.can_create_distributors:
        return refused(request, "The agreement does not allow creating sub-distributors.", back_url=back)
    form = NewDistributorForm(_posted(request), parent=parent)
    if form.is_valid():
        try:
            distributor, invitation, _ = actions.create_distributor(
                parent=parent, **form.cleaned_data, actor=Actor.from_request(request)
            )
        except ValidationError as exc:
            add_action_errors(form, exc, {"email": "admin_email"})
        else:
            messages.success(
                request,
                f"Distributor {distributor.name} created; its first login link went to {invitation.email}.",
            )
            return redirect(back)
    sub = parent.kind == Kind.DISTRIBUTOR
    return form_page(
        request,
        form,
        title=f"New sub-distributor under {parent.name}" if sub else "New Distributor",
        intro="Its first login is an email with a single-use link that sets the password.",
        submit="Create distributor",
        back_url=back,
    )


@login_required
def edit_agreement(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    distributor = get_organisation_for_user(request.user, organisation_id, kind=Kind.DISTRIBUTOR)
    back = _detail_url(distributor)
    if not request.user.is_vendor_staff:
        return refused(request, "A distributor's agreement is set by vendor staff.", back_url=back)
    initial = {
        f: getattr(distributor, f)
        for f in ("region", "may_invite_msps", "may_provision_cloud", "may_create_subdistributors")
    }
    form = AgreementForm(_posted(request), initial=initial)
    if form.is_valid():
        try:
            actions.set_agreement(
                distributor=distributor, **form.cleaned_data, actor=Actor.from_request(request)
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"The agreement of {distributor.name} is saved.")
            return redirect(back)
    return form_page(
        request, form, title=f"Agreement of {distributor.name}", submit="Save agreement", back_url=back
    )


def _access_refusal(request: HttpRequest, msp: Organisation) -> HttpResponse | None:
    back = _detail_url(msp)
    if msp.pk == request.user.organisation_id:
        return refused(request, "Your portal access is managed by your distributor.", back_url=back)
    return None


@login_required
def grant_portal_access(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    msp = get_msp_for_user(request.user, organisation_id)
    back = _detail_url(msp)
    if refusal := _access_refusal(request, msp):
        return refusal
    if not msp.parent.may_invite_msps:
        return refused(request, "The agreement does not allow giving MSPs portal access.", back_url=back)
    if msp.portal_access == Access.ACTIVE:
        messages.info(request, f"{msp.name} already has portal access.")
        return redirect(back)
    needs_invitation = msp.portal_access == Access.INVITED or not msp.users.filter(is_active=True).exists()
    form = GrantAccessForm(_posted(request)) if needs_invitation else None
    if request.method == "POST" and (form is None or form.is_valid()):
        data = form.cleaned_data if form is not None else {"email": "", "name": ""}
        try:
            invitation = actions.grant_portal_access(msp=msp, **data, actor=Actor.from_request(request))
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
                return redirect(back)
            add_action_errors(form, exc)
        else:
            if invitation is not None:
                messages.success(request, f"Portal access granted: an invitation went to {invitation.email}.")
            else:
                messages.success(
                    request, f"Portal access granted: the users of {msp.name} can sign in again."
                )
            return redirect(back)
    context = {"msp": msp, "form": form, "back_url": back}
    return render(request, "portal/onboarding/grant_access.html", context)


@login_required
def withdraw_portal_access(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    msp = get_msp_for_user(request.user, organisation_id)
    back = _detail_url(msp)
    if refusal := _access_refusal(request, msp):
        return refusal
    if request.method == "POST":
        try:
            actions.withdraw_portal_access(msp=msp, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"Portal access of {msp.name} withdrawn: its users are signed out; "
                "its accounts, sites and keys are kept.",
            )
        return redirect(back)
    return render(request, "portal/onboarding/withdraw_access.html", {"msp": msp, "back_url": back})


@login_required
def resend_invitation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    org = get_organisation_for_user(request.user, organisation_id)
    back = _detail_url(org)
    if refusal := _access_refusal(request, org):
        return refusal
    latest = latest_organisation_invitation(org)
    if org.portal_access != Access.INVITED or latest is None:
        messages.info(request, f"{org.name} has no pending invitation to send again.")
        return redirect(back)
    form = GrantAccessForm(_posted(request), initial={"email": latest.email, "name": latest.full_name})
    if form.is_valid():
        try:
            invitation, _ = actions.resend_invitation(
                organisation=org, **form.cleaned_data, actor=Actor.from_request(request)
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request, f"A new invitation went to {invitation.email}; the old link no longer works."
            )
            return redirect(back)
    return form_page(
        request,
        form,
        title=f"Resend the invitation of {org.name}",
        intro="A new single-use link goes to this address; the old link stops working.",
        submit="Resend invitation",
        back_url=back,
    )


@login_required
def revoke_invitation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    org = get_organisation_for_user(request.user, organisation_id)
    if request.method == "POST":
        # Looked up among the organisation's own invitations: the organisation came through the door.
        raw = request.POST.get("invitation", "")
        # isascii: "²".isdigit() is true, yet int() refuses it.
        invitation = org.invitations.filter(pk=int(raw)).first() if raw.isascii() and raw.isdigit() else None
        if invitation is None:
            raise Http404("No such invitation.")
        try:
            actions.revoke_invitation(invitation=invitation, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"The invitation for {invitation.email} is revoked; its link no longer works."
            )
    return redirect(_detail_url(org))
