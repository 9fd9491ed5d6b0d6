from django.contrib import admin
from django.http import HttpRequest

from keyledger.customers.models import Account, Site


class _ReadOnly(admin.ModelAdmin):
    """Vendor staff may look accounts and sites up here; changes are made in the portal,
    whose actions enforce the naming rules and write the audit trail."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SiteInline(admin.TabularInline):
    model = Site
    fields = ("name", "address", "notes", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(_ReadOnly):
    list_display = ("name", "msp", "created_at")
    list_select_related = ("msp",)
    search_fields = ("name", "msp__name")
    inlines = (SiteInline,)


@admin.register(Site)
class SiteAdmin(_ReadOnly):
    list_display = ("name", "account", "msp_name", "created_at")
    list_select_related = ("account__msp",)
    search_fields = ("name", "account__name", "account__msp__name")

    @admin.display(description="MSP", ordering="account__msp__name")
    def msp_name(self, obj: Site) -> str:
        return obj.account.msp.name
