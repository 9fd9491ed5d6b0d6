import time

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from keyledger.urls import urlpatterns as keyledger_urlpatterns


def slow(request: HttpRequest) -> HttpResponse:
    time.sleep(float(request.GET.get("seconds", "2")))
    return HttpResponse("finished\n", content_type="text/plain")


def slow_database(request: HttpRequest) -> HttpResponse:
    """Holds a database connection for the time asked (PostgreSQL's pg_sleep)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("seconds", "0.2"))])
    return HttpResponse("slept\n", content_type="text/plain")


urlpatterns = [
    path("test/slow", slow, name="test_slow"),
    path("test/slow-database", slow_database, name="test_slow_database"),
    *keyledger_urlpatterns,
]
