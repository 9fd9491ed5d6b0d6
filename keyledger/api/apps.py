from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "keyledger.api"
