from django.db.models import QuerySet
from django.http import Http404

from keyledger.access.organisations import users_for_user
from keyledger.organisations.models import Invitation, User


def get_user_for_user(user: User, user_id: int) -> User:
    """A user of the asking user's organisation or of one below it."""
    try:
        return users_for_user(user).select_related("organisation__parent").get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404("No such user.") from None


def invitations_for_user(user: User) -> QuerySet[Invitation]:
    if not user.is_authenticated:
        return Invitation.objects.none()
    return Invitation.objects.filter(organisation__path__startswith=user.organisation.path)
