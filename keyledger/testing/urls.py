"""Every URL pattern of the portal, found from the URL configuration, so that a new view
is tried by the outsider tests without anyone having to remember to add it."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str  # "portal:account_detail"
    pattern: str
    kwargs: tuple[str, ...]


def _walk(resolver: URLResolver, prefix: str, namespace: str) -> list[Route]:
    routes: list[Route] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            routes += _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            full = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            kwargs = tuple(entry.pattern.regex.groupindex) + tuple(resolver.pattern.regex.groupindex)
            routes.append(Route(name=name, pattern=full, kwargs=tuple(dict.fromkeys(kwargs))))
    return routes


def portal_routes() -> list[Route]:
    return [r for r in _walk(get_resolver(), "", "") if r.name.startswith("portal:")]
