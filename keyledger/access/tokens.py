from django.db.models import QuerySet
from django.http import Http404

from keyledger.api.models import ApiToken
from keyledger.organisations.models import User


def tokens_for_user(user: User) -> QuerySet[ApiToken]:
    """An organisation's tokens are its own: not even the organisations above it list them."""
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(organisation=user.organisation)


def get_token_for_user(user: User, token_id: int) -> ApiToken:
    try:
        return tokens_for_user(user).select_related("organisation").get(pk=token_id)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise Http404("No such API token.") from None
