from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Keyledger administration"
admin.site.site_title = "Keyledger"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("keyledger.api.urls")),
    path("", include("keyledger.portal.urls")),
]
