from django.http import HttpRequest


def two_factor_notice(request: HttpRequest) -> dict:
    """The notice before a requirement's day (the middleware decides whom it concerns)."""
    return {"two_factor_notice": getattr(request, "two_factor_notice", None)}
