"""Statements (the seed's invoices): list, view, print, CSV, Finalise."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
