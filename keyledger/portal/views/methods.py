from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed


def only_methods(request: HttpRequest, *methods: str) -> HttpResponse | None:
    """A 405 for any other method, or None. Views call it after the object lookup, so an
    outsider gets 404 whatever the method (a 405 would confirm the object exists)."""
    if request.method not in methods:
        return HttpResponseNotAllowed(methods)
    return None
