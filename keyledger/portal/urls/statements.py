"""Statements (the seed's invoices): list, view, print, CSV, Finalise."""

from django.urls import path

from keyledger.portal.views import statements as views

urlpatterns = [
    path("statements/", views.statements, name="statements"),
    path("statements/<int:statement_id>/", views.statement, name="statement"),
    path("statements/<int:statement_id>/csv/", views.statement_csv, name="statement_csv"),
    path("statements/<int:statement_id>/finalise/", views.statement_finalise, name="statement_finalise"),
]
