from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "keyledger.ops"
    label = "ops"
    verbose_name = "Operations"
