# The REST API and the products' call-home protocol live under /api/v1/.
urlpatterns: list = []
