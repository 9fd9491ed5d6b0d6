"""Where each kind of user starts, and which tabs the portal shows them."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from keyledger.organisations.models import Organisation, User
from keyledger.organisations.roles import Permission


@dataclass(frozen=True)
class Tab:
    label: str
    url_name: str
    permission: Permission | None = None
    kinds: tuple[str, ...] = ()  # empty: every kind of organisation
    # Pages below these paths belong to the tab (an account's page is part of Key Management).
    sections: tuple[str, ...] = ()


TABS = (
    Tab("Overview", "portal:overview", Permission.VIEW_KEYS),
    Tab(
        "Key Management",
        "portal:key_management",
        Permission.VIEW_KEYS,
        sections=("/key-management/", "/msps/", "/accounts/", "/sites/", "/keys/"),
    ),
    Tab(
        "MSPs",
        "portal:organisations",
        Permission.MANAGE_ORGANISATIONS,
        (Organisation.Kind.VENDOR, Organisation.Kind.DISTRIBUTOR),
        sections=("/organisations/",),
    ),
    Tab("Reports", "portal:reports", Permission.VIEW_REPORTS, sections=("/reports/",)),
    Tab("Statements", "portal:statements", Permission.VIEW_REPORTS, sections=("/statements/",)),
    Tab("Price lists", "portal:price_lists", Permission.VIEW_REPORTS, sections=("/price-lists/",)),
    Tab("API tokens", "portal:api_tokens", Permission.MANAGE_ORGANISATIONS),
    Tab("Users", "portal:users", Permission.MANAGE_ORGANISATIONS),
    Tab("Audit log", "portal:audit_log", Permission.VIEW_AUDIT),
)


def tabs_for(user: User, path: str = "") -> list[dict]:
    tabs = []
    for tab in TABS:
        if tab.permission is not None and not user.can(tab.permission):
            continue
        if tab.kinds and user.organisation.kind not in tab.kinds:
            continue
        try:
            url = reverse(tab.url_name)
        except NoReverseMatch:
            continue  # that part of the portal is not installed
        label = tab.label
        if tab.url_name == "portal:organisations" and user.organisation.kind == Organisation.Kind.VENDOR:
            label = "Distributors"
        current = bool(path) and path.startswith((url, *tab.sections))
        tabs.append({"label": label, "url": url, "current": current})
    return tabs


def home_url_for(user: User) -> str | None:
    tabs = tabs_for(user)
    return tabs[0]["url"] if tabs else None
