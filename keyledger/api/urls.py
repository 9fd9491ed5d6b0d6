from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from keyledger.api.api import api
from keyledger.api.call_home import call_home_wrong_method

_api_urls = api.urls
_call_home = next(p.callback for p in _api_urls[0] if p.name == "call_home")


@csrf_exempt
def call_home_door(request: HttpRequest) -> HttpResponse:
    """Call home answers every method, signed (SPEC §7): POST is the protocol, any other
    method (HEAD and OPTIONS included, which django-ninja would answer unsigned) a 405."""
    if request.method == "POST":
        return _call_home(request)
    return call_home_wrong_method(request)


urlpatterns = [
    # Ahead of the API's own route for the same path, so that no method reaches that route's
    # unsigned "not allowed" answer.
    path("call-home", call_home_door, name="call_home_door"),
    path("", _api_urls),
]
