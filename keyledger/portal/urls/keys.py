from django.urls import path

from keyledger.portal.views import keys as views

urlpatterns = [
    path("accounts/<int:account_id>/keys/", views.account_keys, name="account_keys"),
    path("sites/<int:site_id>/keys/", views.site_keys, name="site_keys"),
    path("msps/<int:msp_id>/keys/add/", views.add_keys, name="add_keys"),
    path("keys/<int:key_id>/", views.key_detail, name="key_detail"),
    path("keys/<int:key_id>/move/", views.move_key, name="move_key"),
    path("keys/<int:key_id>/deactivate/", views.deactivate_key, name="deactivate_key"),
    path("keys/<int:key_id>/reactivate/", views.reactivate_key, name="reactivate_key"),
    path("keys/<int:key_id>/withdraw/", views.withdraw_key_request, name="withdraw_key_request"),
]
