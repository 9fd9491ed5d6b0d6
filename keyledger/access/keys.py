from django.db.models import QuerySet
from django.http import Http404

from keyledger.keys.models import Product, ProductKey
from keyledger.organisations.models import User


def products() -> QuerySet[Product]:
    """The catalog offered in Add Key(s) and as product tabs: the same for every user."""
    return Product.objects.filter(is_active=True)


def keys_for_user(user: User) -> QuerySet[ProductKey]:
    if not user.is_authenticated:
        return ProductKey.objects.none()
    return ProductKey.objects.filter(msp__path__startswith=user.organisation.path)


def get_key_for_user(user: User, key_id: int) -> ProductKey:
    try:
        return keys_for_user(user).select_related("product", "msp", "account", "site").get(pk=key_id)
    except (ProductKey.DoesNotExist, ValueError, TypeError):
        raise Http404("No such product key.") from None
