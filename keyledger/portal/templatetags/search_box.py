"""Whether the top bar shows the search box: to those who may read keys (the search opens them)."""

from django import template

from keyledger.organisations.models import Organisation
from keyledger.organisations.roles import Permission

register = template.Library()


@register.filter
def may_search(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.can(Permission.VIEW_KEYS)


@register.filter
def search_label(user: object) -> str:
    """What the box finds for this user: an MSP's people have no MSPs to look for."""
    if user.organisation.kind == Organisation.Kind.MSP:
        return "Search keys, machines, accounts, sites"
    return "Search keys, machines, accounts, sites, MSPs"
