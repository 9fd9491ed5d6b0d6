from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "keyledger.audit"
