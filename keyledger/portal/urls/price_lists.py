"""Price lists: what an organisation charges the organisations below it."""

from django.urls import path

from keyledger.portal.views import price_lists

urlpatterns = [
    path("price-lists/", price_lists.price_lists, name="price_lists"),
    path("price-lists/new/", price_lists.new_price_list, name="price_list_new"),
    path("price-lists/<int:price_list_id>/", price_lists.price_list, name="price_list"),
    path(
        "price-lists/<int:price_list_id>/prices/",
        price_lists.price_list_add_price,
        name="price_list_add_price",
    ),
]
