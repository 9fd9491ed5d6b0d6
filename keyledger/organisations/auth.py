from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Sign-in by email (case-insensitive); users of an organisation without portal access are refused."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and user.may_sign_in
