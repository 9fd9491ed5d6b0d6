"""The home overview of an organisation's subtree: keys by status, trouble, forecast and charts."""

from django.urls import path

from keyledger.portal.views import overview as views

urlpatterns = [
    path("overview/", views.overview_page, name="overview"),
    path("overview/charts/", views.overview_charts_view, name="overview_charts"),
    path("overview/keys/", views.overview_keys, name="overview_keys"),
]
