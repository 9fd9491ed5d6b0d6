from django.urls import path

from keyledger.portal.views import account_security, auth

urlpatterns = [
    path("password-reset/", auth.password_reset, name="password_reset"),
    path("password-reset/sent/", auth.password_reset_sent, name="password_reset_sent"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("profile/password/", account_security.change_password, name="change_password"),
    path(
        "profile/sessions/sign-out-others/",
        account_security.sign_out_other_sessions,
        name="sign_out_other_sessions",
    ),
]
