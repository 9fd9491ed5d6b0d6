from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "keyledger.security"
    verbose_name = "Sign-in security"

    def ready(self) -> None:
        from django.contrib import admin

        from keyledger.security.forms import AdminSignInForm

        # The admin's sign-in tests passwords too: it counts the wrong ones like the portal's.
        admin.site.login_form = AdminSignInForm
