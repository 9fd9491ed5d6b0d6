from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "keyledger.organisations"
    verbose_name = "Organisations and users"
