from django.contrib import admin
from django.http import HttpRequest

from keyledger.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """For looking tokens up; they are created and revoked in the portal (the secret is shown
    only there, once, and revoking is audited)."""

    list_display = (
        "prefix",
        "name",
        "organisation",
        "scope",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("scope",)
    search_fields = ("prefix", "name", "organisation__name")
    list_select_related = ("organisation", "created_by")
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "secret_hash"]
    exclude = ("secret_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False
