from django.urls import path

from keyledger.portal.views import invitations, organisations, terms, users

urlpatterns = [
    path("organisations/", organisations.organisations, name="organisations"),
    path("organisations/<int:organisation_id>/", organisations.organisation, name="organisation"),
    path("organisations/<int:organisation_id>/new-msp/", organisations.new_msp, name="new_msp"),
    path("organisations/<int:organisation_id>/invite/", organisations.invite_msp, name="invite_msp"),
    path(
        "organisations/<int:organisation_id>/new-distributor/",
        organisations.new_distributor,
        name="new_distributor",
    ),
    path(
        "organisations/<int:organisation_id>/agreement/", organisations.edit_agreement, name="edit_agreement"
    ),
    path(
        "organisations/<int:organisation_id>/grant-access/",
        organisations.grant_portal_access,
        name="grant_portal_access",
    ),
    path(
        "organisations/<int:organisation_id>/withdraw-access/",
        organisations.withdraw_portal_access,
        name="withdraw_portal_access",
    ),
    path(
        "organisations/<int:organisation_id>/resend-invitation/",
        organisations.resend_invitation,
        name="resend_invitation",
    ),
    path(
        "organisations/<int:organisation_id>/revoke-invitation/",
        organisations.revoke_invitation,
        name="revoke_invitation",
    ),
    path("organisations/<int:organisation_id>/invite-user/", users.invite_user, name="invite_user"),
    path("users/", users.users, name="users"),
    path("users/<int:user_id>/", users.user_detail, name="user"),
    path("users/<int:user_id>/role/", users.change_role, name="change_role"),
    path("users/<int:user_id>/deactivate/", users.deactivate_user, name="deactivate_user"),
    path("users/<int:user_id>/reactivate/", users.reactivate_user, name="reactivate_user"),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
    path("terms/accept/", terms.accept_terms, name="accept_terms"),
    path("terms/", terms.terms, name="terms"),
]
