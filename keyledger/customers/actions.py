"""Every change to accounts and sites.

Each action is keyword-only, atomic and writes its audit row. Access (is the MSP,
account or site in the actor's subtree? may the role change keys?) is checked by the
caller through keyledger.access before it calls an action.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from keyledger.audit.actor import Actor
from keyledger.audit.record import diff, record
from keyledger.customers.models import Account, Site
from keyledger.keys import actions as key_actions
from keyledger.organisations.models import Organisation
from keyledger.organisations.naming import natural_sort_key

NAME_MAX_LENGTH = 200


def _clean_name(name: str, *, label: str) -> str:
    # Runs of spaces are folded so "Alpha  Dental" cannot sit next to "Alpha Dental".
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": f"Enter the {label}."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"The {label} can be at most {NAME_MAX_LENGTH} characters."})
    return name


def _clean_text(value: str) -> str:
    return (value or "").strip()


def _write_unique[M: models.Model](write: Callable[[], M], *, message: str) -> M:
    """Run a write guarded by a name constraint. The callers check the name first; this
    turns the rare race between that check and the write into the same field error."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as exc:
        raise ValidationError({"name": message}) from exc


def _account_name_taken(msp: Organisation, name: str) -> str:
    return f"{msp.name} already has an account named “{name}”."


def _site_name_taken(account: Account, name: str) -> str:
    return f"Account “{account.name}” already has a site named “{name}”."


@transaction.atomic
def create_account(
    *, msp: Organisation, name: str, address: str = "", notes: str = "", actor: Actor
) -> Account:
    if msp.kind != Organisation.Kind.MSP:
        raise ValidationError("Accounts belong to an MSP.")
    name = _clean_name(name, label="Account Name")
    if Account.objects.filter(msp=msp).named(name).exists():
        raise ValidationError({"name": _account_name_taken(msp, name)})
    account = _write_unique(
        lambda: Account.objects.create(
            msp=msp,
            name=name,
            sort_name=natural_sort_key(name),
            address=_clean_text(address),
            notes=_clean_text(notes),
        ),
        message=_account_name_taken(msp, name),
    )
    record(
        actor=actor,
        action="account.create",
        organisation=msp,
        obj=account,
        changes={"name": account.name, "address": account.address, "notes": account.notes},
    )
    return account


@transaction.atomic
def update_account(*, account: Account, name: str, address: str, notes: str, actor: Actor) -> Account:
    """Save the account's details. Returns the account as saved (unchanged when nothing differs)."""
    account = Account.objects.select_for_update().select_related("msp").get(pk=account.pk)
    name = _clean_name(name, label="Account Name")
    if Account.objects.filter(msp_id=account.msp_id).named(name).exclude(pk=account.pk).exists():
        raise ValidationError({"name": _account_name_taken(account.msp, name)})
    after = {"name": name, "address": _clean_text(address), "notes": _clean_text(notes)}
    changes = diff({field: getattr(account, field) for field in after}, after)
    if not changes:
        return account
    for field in changes:
        setattr(account, field, after[field])
    update_fields = list(changes)
    if "name" in changes:
        account.sort_name = natural_sort_key(name)
        update_fields.append("sort_name")

    def write() -> Account:
        account.save(update_fields=update_fields)
        return account

    _write_unique(write, message=_account_name_taken(account.msp, name))
    record(actor=actor, action="account.update", organisation=account.msp, obj=account, changes=changes)
    return account


@transaction.atomic
def create_site(*, account: Account, name: str, address: str = "", notes: str = "", actor: Actor) -> Site:
    name = _clean_name(name, label="Site Name")
    if Site.objects.filter(account=account).named(name).exists():
        raise ValidationError({"name": _site_name_taken(account, name)})
    site = _write_unique(
        lambda: Site.objects.create(
            account=account,
            name=name,
            sort_name=natural_sort_key(name),
            address=_clean_text(address),
            notes=_clean_text(notes),
        ),
        message=_site_name_taken(account, name),
    )
    record(
        actor=actor,
        action="site.create",
        organisation=account.msp,
        obj=site,
        changes={
            "account": [account.pk, account.name],
            "name": site.name,
            "address": site.address,
            "notes": site.notes,
        },
    )
    return site


@transaction.atomic
def update_site(*, site: Site, name: str, account: Account, address: str, notes: str, actor: Actor) -> Site:
    """Save the site's details. Choosing another account of the same MSP moves the site
    there (audited as "site.move"); an account of another MSP is refused."""
    site = Site.objects.select_for_update().select_related("account__msp").get(pk=site.pk)
    old_account = site.account
    if account.msp_id != old_account.msp_id:
        raise ValidationError({"account": "Choose one of this MSP's accounts."})
    name = _clean_name(name, label="Site Name")
    if Site.objects.filter(account=account).named(name).exclude(pk=site.pk).exists():
        raise ValidationError({"name": _site_name_taken(account, name)})
    after = {"name": name, "address": _clean_text(address), "notes": _clean_text(notes)}
    changes = diff({field: getattr(site, field) for field in after}, after)
    moved = account.pk != old_account.pk
    if not changes and not moved:
        return site
    for field in changes:
        setattr(site, field, after[field])
    update_fields = list(changes)
    if "name" in changes:
        site.sort_name = natural_sort_key(name)
        update_fields.append("sort_name")
    if moved:
        site.account = account
        # The site's keys move with it (each move is a key event: billing follows the key).
        key_actions.move_site_keys(site=site, account=account, actor=actor)
        update_fields.append("account")
        changes["account"] = [[old_account.pk, old_account.name], [account.pk, account.name]]

    def write() -> Site:
        site.save(update_fields=update_fields)
        return site

    _write_unique(write, message=_site_name_taken(account, name))
    record(
        actor=actor,
        action="site.move" if moved else "site.update",
        organisation=account.msp,
        obj=site,
        changes=changes,
    )
    return site
