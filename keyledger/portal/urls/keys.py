from django.urls import path

from keyledger.portal.views import bulk_keys, key_list
from keyledger.portal.views import keys as views

urlpatterns = [
    path("accounts/<int:account_id>/keys/", key_list.account_keys, name="account_keys"),
    path("sites/<int:site_id>/keys/", key_list.site_keys, name="site_keys"),
    path("accounts/<int:account_id>/keys/csv/", key_list.account_keys_csv, name="account_keys_csv"),
    path("sites/<int:site_id>/keys/csv/", key_list.site_keys_csv, name="site_keys_csv"),
    path("accounts/<int:account_id>/keys/bulk/", bulk_keys.account_keys_bulk, name="account_keys_bulk"),
    path("sites/<int:site_id>/keys/bulk/", bulk_keys.site_keys_bulk, name="site_keys_bulk"),
    path("msps/<int:msp_id>/keys/add/", views.add_keys, name="add_keys"),
    path("keys/<int:key_id>/", views.key_detail, name="key_detail"),
    path("keys/<int:key_id>/move/", views.move_key, name="move_key"),
    path("keys/<int:key_id>/deactivate/", views.deactivate_key, name="deactivate_key"),
    path("keys/<int:key_id>/reactivate/", views.reactivate_key, name="reactivate_key"),
    path("keys/<int:key_id>/withdraw/", views.withdraw_key_request, name="withdraw_key_request"),
]
