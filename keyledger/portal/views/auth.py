from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from keyledger.audit.actor import Actor
from keyledger.organisations.models import User
from keyledger.portal.forms.auth import NewPasswordForm, PasswordResetRequestForm, SignInForm, password_policy
from keyledger.portal.navigation import home_url_for
from keyledger.security import actions, sessions
from keyledger.twofactor.views.sign_in import begin_second_step


class LoginView(auth_views.LoginView):
    """Email and password. Once every step of signing in has passed, `sign_in` starts the
    session; a further step (a second factor) goes between `form_valid` and `sign_in`."""

    template_name = "portal/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: SignInForm) -> HttpResponse:
        user = form.get_user()
        # Filled in by portal.js; the user's own choice on the profile page wins over it.
        sessions.note_browser_time_zone(self.request, self.request.POST.get("browser_time_zone", ""))
        return begin_second_step(self.request, user, self.get_success_url()) or self.sign_in(user)

    def sign_in(self, user: User) -> HttpResponse:
        sessions.complete_sign_in(self.request, user)
        return redirect(self.get_success_url())


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


@never_cache
def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. Every address gets the same answer, known or not."""
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        actions.request_password_reset(email=form.cleaned_data["email"], actor=Actor.from_request(request))
        return redirect("portal:password_reset_sent")
    return render(request, "portal/password_reset/request.html", {"form": form})


@never_cache
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/password_reset/sent.html",
        {
            "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
            "per_hour": settings.KEYLEDGER_PASSWORD_RESETS_PER_EMAIL,
        },
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's checks of the link (and its move of the token out of the address bar); the
    password is set by keyledger.security.actions.reset_password, which checks it again."""

    template_name = "portal/password_reset/confirm.html"
    form_class = NewPasswordForm

    def get_user(self, uidb64: str) -> User | None:
        user = super().get_user(uidb64)
        # A user who lost portal access after the email went out gets nowhere with it.
        return user if user is not None and actions.may_reset_password(user) else None

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(**kwargs) | {
            "password_policy": password_policy(),
            "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        }

    def form_valid(self, form: NewPasswordForm) -> HttpResponse:
        token = self.request.session.get(INTERNAL_RESET_SESSION_TOKEN, "")
        try:
            actions.reset_password(
                user=self.user,
                token=token,
                password=form.cleaned_data["new_password"],
                actor=Actor.from_request(self.request),
            )
        except ValidationError:
            self.validlink = False
            return self.render_to_response(self.get_context_data(form=None))
        finally:
            self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, None)
        # Every session of the user ended, this browser's too if it was signed in as them.
        logout(self.request)
        messages.success(self.request, "Your password has been changed. Sign in with your new password.")
        return redirect("portal:login")
