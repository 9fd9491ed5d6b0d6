from __future__ import annotations

from typing import Self

from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone

from keyledger.organisations.naming import SORT_NAME_MAX_LENGTH


class NamedQuerySet(models.QuerySet):
    def named(self, name: str) -> Self:
        """Rows whose name equals `name` ignoring case, compared exactly as the unique
        constraints compare (the database's LOWER on both sides), so a check made here
        agrees with the constraint on SQLite and PostgreSQL alike."""
        return self.alias(lower_name=Lower("name")).filter(lower_name=Lower(Value(name)))

    def by_name(self) -> Self:
        """In natural order ("Site 2" before "Site 10"), by the key the actions keep in sort_name."""
        return self.order_by("sort_name", "pk")


class Account(models.Model):
    """A customer account of an MSP (the seed's "client account")."""

    msp = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="accounts")
    name = models.CharField("Account Name", max_length=200)
    # natural_sort_key(name), written by the actions that name or rename: lists order by it.
    sort_name = models.CharField(max_length=SORT_NAME_MAX_LENGTH, editable=False, default="")
    address = models.TextField("Address", blank=True)
    notes = models.TextField("Notes", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = NamedQuerySet.as_manager()

    class Meta:
        ordering = ["sort_name", "pk"]
        indexes = [models.Index(fields=["msp", "sort_name"], name="account_msp_sort_name")]
        constraints = [models.UniqueConstraint(Lower("name"), "msp", name="account_name_unique_per_msp")]

    def __str__(self) -> str:
        return self.name


class Site(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField("Site Name", max_length=200)
    sort_name = models.CharField(max_length=SORT_NAME_MAX_LENGTH, editable=False, default="")
    address = models.TextField("Address", blank=True)
    notes = models.TextField("Notes", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = NamedQuerySet.as_manager()

    class Meta:
        ordering = ["sort_name", "pk"]
        indexes = [models.Index(fields=["account", "sort_name"], name="site_account_sort_name")]
        constraints = [models.UniqueConstraint(Lower("name"), "account", name="site_name_unique_per_account")]

    def __str__(self) -> str:
        return self.name
