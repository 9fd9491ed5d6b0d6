from django.urls import path

from keyledger.portal.views import search as views

urlpatterns = [
    path("search/", views.search, name="search"),
]
