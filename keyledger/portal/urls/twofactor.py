from django.urls import path

from keyledger.twofactor.views import profile, security, sign_in

urlpatterns = [
    path("login/two-factor/", sign_in.second_step, name="two_factor_sign_in"),
    path("profile/two-factor/set-up/", profile.set_up, name="two_factor_setup"),
    path("profile/two-factor/recovery-codes/", profile.recovery_codes, name="two_factor_recovery_codes"),
    path("profile/two-factor/turn-off/", profile.turn_off, name="two_factor_turn_off"),
    path(
        "organisations/<int:organisation_id>/security/",
        security.organisation_security,
        name="organisation_security",
    ),
    path("users/<int:user_id>/two-factor/reset/", security.reset_user, name="reset_two_factor"),
]
