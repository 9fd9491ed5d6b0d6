"""Price lists: what an organisation charges the organisations below it."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
