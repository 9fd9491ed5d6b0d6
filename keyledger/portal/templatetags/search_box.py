"""Whether the top bar shows the search box: to those who may read keys (the search opens them)."""

from django import template

from keyledger.organisations.roles import Permission

register = template.Library()


@register.filter
def may_search(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.can(Permission.VIEW_KEYS)
