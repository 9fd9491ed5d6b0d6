from django.urls import path

from keyledger.portal.views import profile

urlpatterns = [
    path("profile/", profile.profile, name="profile"),
]
