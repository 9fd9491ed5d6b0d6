"""The Django admin for vendor staff: a read-only window on the channel tree and its users.

Every change to organisations, users and invitations goes through the portal, whose
actions check the channel's rules and write the audit log; the admin only adds new
Terms of Service versions, and it does that through the same action.
"""

from django.contrib import admin
from django.http import HttpRequest

from keyledger.audit.actor import Actor
from keyledger.organisations import actions
from keyledger.organisations.models import Invitation, Organisation, TermsAcceptance, TermsVersion, User


def is_vendor_staff(request: HttpRequest) -> bool:
    # Vendor staff are the admin's users; they need no per-model Django permissions here.
    user = request.user
    return user.is_active and user.is_staff and user.is_vendor_staff


class VendorStaffAdmin(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_vendor_staff(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_vendor_staff(request)


class ReadOnlyAdmin(VendorStaffAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "parent", "region", "portal_access", "country", "created_at")
    list_filter = ("kind", "portal_access", "region", "may_invite_msps", "may_create_subdistributors")
    search_fields = ("name", "city", "country", "postal_code")
    list_select_related = ("parent",)


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("email", "full_name", "organisation", "role", "is_active", "is_staff", "last_login")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("email", "full_name", "organisation__name")
    list_select_related = ("organisation",)
    exclude = ("password",)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("email", "organisation", "purpose", "created_at", "expires_at", "used_at", "revoked_at")
    list_filter = ("purpose",)
    search_fields = ("email", "organisation__name")
    list_select_related = ("organisation",)
    exclude = ("token_hash",)


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ("user", "organisation", "terms", "accepted_at", "ip_address")
    list_filter = ("terms",)
    search_fields = ("user__email", "organisation__name")
    list_select_related = ("user", "organisation", "terms")


@admin.register(TermsVersion)
class TermsVersionAdmin(VendorStaffAdmin):
    """Publishing is adding: a published version is never edited, a new one replaces it."""

    list_display = ("version", "title", "published_at")
    fields = ("title", "text")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_vendor_staff(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: TermsVersion, form, change: bool) -> None:
        published = actions.publish_terms(text=obj.text, title=obj.title, actor=Actor.from_request(request))
        # The admin goes on with the object it saved (for its messages and redirect).
        obj.pk, obj.version, obj.published_at = published.pk, published.version, published.published_at
