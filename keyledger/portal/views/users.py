"""The users of an organisation and of those below it: invite, change role, deactivate."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from keyledger.access import (
    get_organisation_for_user,
    get_user_for_user,
    invitations_for_user,
    require,
    users_for_user,
)
from keyledger.audit.actor import Actor
from keyledger.organisations import actions
from keyledger.organisations.roles import Permission
from keyledger.portal.forms.errors import add_action_errors
from keyledger.portal.forms.users import ChangeRoleForm, InviteUserForm
from keyledger.portal.lists import Column, sorted_page
from keyledger.portal.views.onboarding import form_page
from keyledger.twofactor.devices import with_two_factor

PAGE_SIZE = 50


USER_COLUMNS = [
    Column("name", "Name", ("sort_name",)),
    Column("email", "Email", ("email",)),
    Column("organisation", "Organisation", ("organisation__sort_name", "sort_name")),
    Column("role", "Role", ("role", "sort_name")),
    Column("status", "Status", ("is_active", "sort_name")),
    Column("two_factor", "Two-factor"),
    Column("last_login", "Last sign-in", ("last_login",)),
]


@login_required
def users(request: HttpRequest) -> HttpResponse:
    """The users of one's organisation and those below, by name (or email when a user has
    no name) in natural order unless a heading says otherwise."""
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    rows = with_two_factor(users_for_user(request.user)).select_related("organisation")
    listing = sorted_page(
        request,
        rows,
        columns=USER_COLUMNS,
        default="name",
        per_page=PAGE_SIZE,
        noun="users",
        noun_one="user",
        search_fields=("full_name", "email"),
    )
    invitations = (
        invitations_for_user(request.user)
        .pending(timezone.now())
        .select_related("organisation")
        .order_by("organisation__sort_name", "email")
    )
    context = {
        "listing": listing,
        "page": listing.page,
        "invitations": invitations,
        "own": request.user.organisation,
    }
    return render(request, "portal/onboarding/users.html", context)


@login_required
def invite_user(request: HttpRequest, organisation_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    org = get_organisation_for_user(request.user, organisation_id)
    if org.pk == request.user.organisation_id:
        back = reverse("portal:users")
    else:
        back = reverse("portal:organisation", kwargs={"organisation_id": org.pk})
    form = InviteUserForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            invitation, _ = actions.invite_user(
                organisation=org, **form.cleaned_data, actor=Actor.from_request(request)
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect(back)
    return form_page(
        request,
        form,
        title=f"Invite a user to {org.name}",
        intro="The user gets an email with a single-use link that sets a password.",
        submit="Invite user",
        back_url=back,
    )


def _user_url(user_id: int) -> str:
    return reverse("portal:user", kwargs={"user_id": user_id})


@login_required
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    target = get_user_for_user(request.user, user_id)
    form = ChangeRoleForm(initial={"role": target.role})
    context = {"target": target, "form": form, "is_self": target.pk == request.user.pk}
    return render(request, "portal/onboarding/user.html", context)


@login_required
def change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    target = get_user_for_user(request.user, user_id)
    if request.method != "POST":
        return redirect(_user_url(target.pk))
    form = ChangeRoleForm(request.POST)
    if form.is_valid():
        try:
            actions.change_role(
                user=target, role=form.cleaned_data["role"], actor=Actor.from_request(request)
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"{target.email} is now {target.get_role_display()}.")
            return redirect(_user_url(target.pk))
    context = {"target": target, "form": form, "is_self": target.pk == request.user.pk}
    return render(request, "portal/onboarding/user.html", context)


def _switch(request: HttpRequest, user_id: int, *, activate: bool) -> HttpResponse:
    require(request.user, Permission.MANAGE_ORGANISATIONS)
    target = get_user_for_user(request.user, user_id)
    if request.method == "POST":
        action = actions.reactivate_user if activate else actions.deactivate_user
        try:
            action(user=target, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if activate:
                messages.success(request, f"{target.email} is active again and can sign in.")
            else:
                messages.success(request, f"{target.email} is deactivated and can no longer sign in.")
    return redirect(_user_url(target.pk))


@login_required
def deactivate_user(request: HttpRequest, user_id: int) -> HttpResponse:
    return _switch(request, user_id, activate=False)


@login_required
def reactivate_user(request: HttpRequest, user_id: int) -> HttpResponse:
    return _switch(request, user_id, activate=True)
