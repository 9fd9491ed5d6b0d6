"""What the onboarding pages share: the refusal page and the generic form page."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def refused(request: HttpRequest, message: str, *, back_url: str = "", status: int = 403) -> HttpResponse:
    """A rule of the channel (the agreement, the kind of organisation) says no: say why, plainly."""
    return render(
        request, "portal/onboarding/refused.html", {"message": message, "back_url": back_url}, status=status
    )


def form_page(
    request: HttpRequest,
    form: forms.Form,
    *,
    title: str,
    submit: str,
    back_url: str,
    intro: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"form": form, "title": title, "submit": submit, "back_url": back_url, "intro": intro}
    return render(request, "portal/onboarding/form.html", context, status=status)
