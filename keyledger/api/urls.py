from django.urls import path

from keyledger.api.api import api

urlpatterns = [path("", api.urls)]
