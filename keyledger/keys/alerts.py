"""Alerts of keys that turned Critical (SPEC §10): one email per sweep to each organisation
that manages the keys, listing them all. An MSP with portal access manages its own keys;
otherwise its distributor does."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from keyledger.keys.models import ProductKey
from keyledger.organisations.models import Organisation, User
from keyledger.organisations.roles import Permission, Role, role_allows

_RECIPIENT_ROLES = [role.value for role in Role if role_allows(role, Permission.VIEW_KEYS)]


def manager_of(msp: Organisation) -> Organisation | None:
    """Who looks after an MSP's keys: the MSP itself once it uses the portal, else its distributor."""
    return msp if msp.has_portal_access else msp.parent


def send_critical_alerts(keys: list[ProductKey]) -> None:
    """Queue the alerts for `keys` (with msp__parent, product, account and site loaded);
    they are sent once the sweep's transaction commits."""
    by_manager: dict[int, list[ProductKey]] = defaultdict(list)
    managers: dict[int, Organisation] = {}
    for key in keys:
        manager = manager_of(key.msp)
        if manager is not None:
            managers[manager.pk] = manager
            by_manager[manager.pk].append(key)
    if not by_manager:
        return
    recipients: dict[int, list[str]] = defaultdict(list)
    for organisation_id, email in (
        User.objects.filter(organisation_id__in=by_manager, is_active=True, role__in=_RECIPIENT_ROLES)
        .order_by("email")
        .values_list("organisation_id", "email")
    ):
        recipients[organisation_id].append(email)
    messages = []
    for organisation_id, org_keys in by_manager.items():
        if not recipients[organisation_id]:
            continue
        context = {
            "organisation": managers[organisation_id],
            "keys": sorted(org_keys, key=lambda k: (k.msp.name, k.account.name, k.key)),
            "hours": settings.KEYLEDGER_CRITICAL_HOURS,
            "site_url": settings.SITE_URL,
        }
        subject = render_to_string("keys/email/critical_subject.txt", context).strip()
        body = render_to_string("keys/email/critical.txt", context)
        messages.append((subject, body, recipients[organisation_id]))

    def send() -> None:
        for subject, body, to in messages:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)

    transaction.on_commit(send)
