from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "keyledger.security"
    verbose_name = "Sign-in security"
