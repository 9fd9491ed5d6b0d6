from django.contrib import admin
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from keyledger.twofactor.models import TwoFactorRequirement

# django-otp's own pages would show TOTP secrets and recovery codes and change devices
# without an audit row; devices change through the portal (profile, an admin's reset).
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(TwoFactorRequirement)
class TwoFactorRequirementAdmin(admin.ModelAdmin):
    """For looking requirements up; they are set on the organisation's Security page (audited)."""

    list_display = ("organisation", "scope", "applies_from", "set_by", "set_at")
    list_filter = ("scope",)
    search_fields = ("organisation__name",)
    list_select_related = ("organisation", "set_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TwoFactorRequirement | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TwoFactorRequirement | None = None) -> bool:
        return False
