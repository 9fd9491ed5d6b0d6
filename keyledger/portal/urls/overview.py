"""The home overview of an organisation's subtree: keys by status, trouble, forecast and charts."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
