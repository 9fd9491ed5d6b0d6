"""The Reports tab: Activation Report, Billing Detail Report, Turning billable soon."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
