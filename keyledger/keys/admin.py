from django.contrib import admin

from keyledger.keys.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """The catalog is data that vendor staff keep here (SPEC §5)."""

    list_display = [
        "name",
        "code",
        "tab_label",
        "family",
        "max_quantity",
        "can_deactivate",
        "is_active",
        "sort_order",
    ]
    list_editable = ["is_active", "sort_order"]
    list_filter = ["family", "is_active"]
    search_fields = ["name", "code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "tab_label", "family", "is_active", "sort_order"]}),
        ("Sourcing", {"fields": ["max_quantity", "job_license_types", "key_fields"]}),
        ("Activation", {"fields": ["can_deactivate", "editions", "requires_edition_on_call_home"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Products calling home name their code: it never changes once keys exist.
        return ["code"] if obj is not None and obj.keys.exists() else []
