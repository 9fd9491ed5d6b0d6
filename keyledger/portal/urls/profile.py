from django.urls import path

from keyledger.portal.views import profile

urlpatterns = [
    path("profile/", profile.profile, name="profile"),
    path("profile/time-zone/", profile.change_time_zone, name="change_time_zone"),
]
