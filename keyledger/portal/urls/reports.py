"""The Reports tab: Activation Report, Billing Detail Report, Turning billable soon."""

from django.urls import path

from keyledger.portal.views import reports as views

urlpatterns = [
    path("reports/", views.reports, name="reports"),
    path("reports/activation/", views.activation, name="reports_activation"),
    path("reports/activation.csv", views.activation_csv, name="reports_activation_csv"),
    path("reports/billing/", views.billing, name="reports_billing"),
    path("reports/billing.csv", views.billing_csv, name="reports_billing_csv"),
    path("reports/soon/", views.soon, name="reports_soon"),
    path("reports/soon.csv", views.soon_csv, name="reports_soon_csv"),
]
