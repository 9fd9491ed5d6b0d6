from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "keyledger.twofactor"
    label = "twofactor"
    verbose_name = "Two-factor authentication"
