from django.urls import path

from keyledger.portal.views import key_management as views
from keyledger.portal.views import msp_picker

urlpatterns = [
    path("key-management/", msp_picker.key_management, name="key_management"),
    path("msps/<int:msp_id>/key-management/", views.msp_key_management, name="msp_key_management"),
    path("msps/<int:msp_id>/accounts/new/", views.account_create, name="account_create"),
    path("msps/<int:msp_id>/sites/new/", views.site_create, name="site_create"),
    path("accounts/<int:account_id>/", views.account_detail, name="account_detail"),
    path("sites/<int:site_id>/", views.site_detail, name="site_detail"),
]
