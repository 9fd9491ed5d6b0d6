from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from keyledger.portal.forms.auth import SignInForm
from keyledger.portal.navigation import home_url_for


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, "You have signed out.")
    return redirect("portal:login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    url = home_url_for(request.user)
    if url:
        return redirect(url)
    return render(request, "portal/home.html")
