from django.urls import path

from keyledger.portal.views import audit_log

urlpatterns = [
    path("audit/", audit_log.audit_log, name="audit_log"),
]
