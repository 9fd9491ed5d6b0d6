"""Product catalog, product keys and their state events (SPEC §5 and §6).

The catalog is data: every per-product rule (quantity, editions, job licenses, the
key's own fields, whether it can be deactivated) is read from the Product row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from keyledger.keys.textorder import machine_name_order


class Product(models.Model):
    class Family(models.TextChoices):
        SOFTWARE = "software", "Software"
        # Cloud Services come later (only where a distributor's agreement allows them).
        CLOUD = "cloud", "Cloud Services"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    tab_label = models.CharField(max_length=100, help_text="The product tab on Key Management.")
    family = models.CharField(max_length=16, choices=Family.choices, default=Family.SOFTWARE)
    max_quantity = models.PositiveSmallIntegerField(
        default=10, help_text="Most keys one Add Key(s) request may source."
    )
    can_deactivate = models.BooleanField(default=False, help_text="Keys may be deactivated and reactivated.")
    editions = models.JSONField(
        default=list,
        blank=True,
        help_text='Editions a key activates: [{"code": "server", "label": "Server"}, …].',
    )
    requires_edition_on_call_home = models.BooleanField(
        default=False, help_text="The product must report one of the editions when it calls home."
    )
    job_license_types = models.JSONField(
        default=list,
        blank=True,
        help_text='Job licenses chosen when sourcing: [{"code": "shadowstream", "label": "ShadowStream", "max": 150}, …].',
    )
    key_fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Fields entered when sourcing: [{"name": "…", "label": "…", "required": true, "max_length": 200}, …].',
    )
    is_active = models.BooleanField(default=True, help_text="Offered in Add Key(s).")
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not all(isinstance(e, dict) and e.get("code") and e.get("label") for e in self.editions or []):
            errors["editions"] = 'Each edition needs "code" and "label".'
        if not all(
            isinstance(j, dict)
            and j.get("code")
            and j.get("label")
            and isinstance(j.get("max"), int)
            and j["max"] >= 0
            for j in self.job_license_types or []
        ):
            errors["job_license_types"] = 'Each job license type needs "code", "label" and a whole "max".'
        if not all(isinstance(f, dict) and f.get("name") and f.get("label") for f in self.key_fields or []):
            errors["key_fields"] = 'Each key field needs "name" and "label".'
        if self.requires_edition_on_call_home and not self.editions:
            errors["requires_edition_on_call_home"] = "List the editions first."
        if self.max_quantity < 1:
            errors["max_quantity"] = "At least 1."
        if errors:
            raise ValidationError(errors)

    def edition_codes(self) -> list[str]:
        return [e["code"] for e in self.editions]

    def edition_label(self, code: str) -> str:
        return next((e["label"] for e in self.editions if e["code"] == code), code)

    def job_license_codes(self) -> list[str]:
        return [j["code"] for j in self.job_license_types]


class ProductKey(models.Model):
    class State(models.TextChoices):
        UNUSED = "unused", "Not activated"
        OK = "ok", "OK"
        CRITICAL = "critical", "Critical"
        DEACTIVATION_REQUESTED = "deactivation_requested", "Deactivation requested \u2013 still active"
        DEACTIVATED = "deactivated", "Deactivated"
        REACTIVATION_REQUESTED = "reactivation_requested", "Reactivation requested"

    # The product runs licensed in these states (and is billed for them, SPEC §6).
    ACTIVE_STATES = frozenset({State.OK, State.CRITICAL, State.DEACTIVATION_REQUESTED})
    BILLED_STATES = ACTIVE_STATES
    # States the sweeper watches; the partial index below covers exactly these.
    SWEPT_STATES = (State.OK, State.DEACTIVATION_REQUESTED)

    key = models.CharField("Product Key", max_length=29, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="keys")
    # Denormalised from account.msp: the subtree scope and "billed to the MSP that holds it"
    # without a join. Actions keep it equal to account.msp (keys move within one MSP only).
    msp = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="product_keys"
    )
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="product_keys")
    site = models.ForeignKey(
        "customers.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="product_keys"
    )
    state = models.CharField(max_length=32, choices=State.choices, default=State.UNUSED)
    # The product's own fields chosen at sourcing: job licenses {"shadowstream": 5, …} or
    # GRE's {"exchange_server_name": …, "exchange_server_version": …}.
    fields = models.JSONField(default=dict, blank=True)

    # The bound machine; null until the first call home.
    machine_name = models.CharField(max_length=200, null=True, blank=True)
    machine_hardware_id = models.CharField(max_length=200, null=True, blank=True)
    machine_software_id = models.CharField(max_length=200, null=True, blank=True)
    edition = models.CharField(max_length=32, blank=True)
    version = models.CharField(max_length=64, blank=True)
    os = models.CharField(max_length=200, blank=True)
    jobs_in_use = models.JSONField(default=dict, blank=True)

    activated_at = models.DateTimeField(null=True, blank=True)
    last_call_home_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper next looks at the key: the critical threshold of an OK key, the end of
    # the offline lease of a pending deactivation. Null in every other state.
    critical_due_at = models.DateTimeField(null=True, blank=True)
    # What the sweeper's index holds instead of critical_due_at: never later than it, set with
    # every state change and moved up to it by the sweep (states.rearm), never by the steady
    # call home. That UPDATE then writes no indexed column and is a HOT update on PostgreSQL:
    # no new entry in any of the table's indexes, and its dead row pruned within its page.
    sweep_after = models.DateTimeField(null=True, blank=True, editable=False)

    sourcing_request = models.ForeignKey(
        "keys.SourcingRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="keys"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["account", "product"], name="key_account_product"),
            models.Index(fields=["msp", "product"], name="key_msp_product"),
            models.Index(
                fields=["sweep_after"],
                name="key_sweep_after",
                condition=Q(state__in=["ok", "deactivation_requested"]),
            ),
            # The search by machine name: a prefix of it, ignoring case, is a range of these
            # indexes; the second bounds an MSP user's search by its own keys alone.
            models.Index(
                machine_name_order(),
                name="key_machine_name_search",
                condition=Q(machine_name__isnull=False),
            ),
            models.Index(
                F("msp"),
                machine_name_order(),
                name="key_msp_machine_name_search",
                condition=Q(machine_name__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "unused",
                        "ok",
                        "critical",
                        "deactivation_requested",
                        "deactivated",
                        "reactivation_requested",
                    ]
                ),
                name="key_state_valid",
            ),
            # Bound to a machine exactly when it has ever been activated.
            models.CheckConstraint(
                condition=(
                    Q(
                        state="unused",
                        activated_at__isnull=True,
                        machine_name__isnull=True,
                        machine_hardware_id__isnull=True,
                        machine_software_id__isnull=True,
                    )
                    | (
                        ~Q(state="unused")
                        & Q(
                            activated_at__isnull=False,
                            machine_name__isnull=False,
                            machine_hardware_id__isnull=False,
                            machine_software_id__isnull=False,
                        )
                    )
                ),
                name="key_bound_once_activated",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def status_label(self) -> str:
        return self.State(self.state).label

    @property
    def is_billed_state(self) -> bool:
        return self.state in self.BILLED_STATES

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def can_request_deactivation(self) -> bool:
        return self.product.can_deactivate and self.state in (self.State.OK, self.State.CRITICAL)

    @property
    def can_request_reactivation(self) -> bool:
        return self.product.can_deactivate and self.state == self.State.DEACTIVATED

    @property
    def has_pending_request(self) -> bool:
        return self.state in (self.State.DEACTIVATION_REQUESTED, self.State.REACTIVATION_REQUESTED)

    def state_at(self, when: datetime) -> str:
        """The state as of `when`, before the sweeper has written it down: an OK key past its
        critical threshold is Critical, and a pending deactivation past the offline lease is
        Deactivated (its due time is the lease's end)."""
        overdue = self.critical_due_at is not None and self.critical_due_at < when
        if overdue and self.state == self.State.OK:
            return self.State.CRITICAL
        if overdue and self.state == self.State.DEACTIVATION_REQUESTED:
            return self.State.DEACTIVATED
        return self.state

    def status_label_at(self, when: datetime) -> str:
        return self.State(self.state_at(when)).label

    @property
    def lease_expires_at(self) -> datetime | None:
        if self.last_call_home_at is None or not self.is_active:
            return None
        return self.last_call_home_at + timedelta(days=settings.KEYLEDGER_OFFLINE_LEASE_DAYS)

    def is_offline_at(self, when: datetime) -> bool:
        """Silent past its offline lease: the product no longer runs licensed."""
        return self.last_call_home_at is not None and when > self.last_call_home_at + timedelta(
            days=settings.KEYLEDGER_OFFLINE_LEASE_DAYS
        )

    @property
    def has_machine(self) -> bool:
        return self.machine_hardware_id is not None

    def is_same_machine(self, *, name: str, hardware_id: str, software_id: str) -> bool:
        """One key, one machine: the same machine unless all three identifiers differ (SPEC §7)."""
        return (
            self.machine_name == name
            or self.machine_hardware_id == hardware_id
            or self.machine_software_id == software_id
        )

    @property
    def job_licenses(self) -> dict[str, int]:
        return {code: int(self.fields.get(code, 0)) for code in self.product.job_license_codes()}

    def field_values(self) -> list[tuple[str, Any]]:
        """(label, value) of the product's own key fields, for display."""
        return [(f["label"], self.fields.get(f["name"], "")) for f in self.product.key_fields]


class KeyEvent(models.Model):
    """One row per state change of a key. Billing and the Activation Report are derived from
    these rows, so each keeps who held the key and on which machine at that moment.

    An edition change reported by a call home, and a move to another account or site, are
    also written (old_state == new_state): billing needs "the edition it last reported in that
    month" and the account and site at the month's end."""

    class Cause(models.TextChoices):
        CALL_HOME = "call_home", "Call home"
        USER = "user", "User"
        SWEEPER = "sweeper", "Sweeper"
        API = "api", "API"

    # When the change took effect. Usually when it was written; a pending deactivation that
    # lapsed with the offline lease took effect at the lease's end, however late the sweep
    # that writes it down runs (SPEC §8), and `recorded_at` keeps when that was.
    at = models.DateTimeField(default=timezone.now)
    recorded_at = models.DateTimeField(default=timezone.now)
    key = models.ForeignKey(ProductKey, on_delete=models.PROTECT, related_name="events")
    # "" for the sourcing of the key.
    old_state = models.CharField(max_length=32, blank=True)
    new_state = models.CharField(max_length=32, choices=ProductKey.State.choices)
    cause = models.CharField(max_length=16, choices=Cause.choices)
    # The name of the transition (keyledger.keys.states), e.g. "activate", "move",
    # "lease_expired"; blank on events written before it was kept.
    transition = models.CharField(max_length=32, blank=True)
    actor_user = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_token_id = models.BigIntegerField(null=True, blank=True)
    machine_name = models.CharField(max_length=200, null=True, blank=True)
    machine_hardware_id = models.CharField(max_length=200, null=True, blank=True)
    machine_software_id = models.CharField(max_length=200, null=True, blank=True)
    edition = models.CharField(max_length=32, blank=True)
    msp = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(
        "customers.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["key", "at"], name="keyevent_key_at"),
            models.Index(fields=["at"], name="keyevent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.key_id} {self.old_state or '∅'} → {self.new_state}"


class SourcingRequest(models.Model):
    """One Add Key(s) request. Its idempotency key (a form token or the API's
    `Idempotency-Key` header) makes a repeated request return the same keys."""

    msp = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    # What was asked, so the same idempotency key with a different request is refused.
    fingerprint = models.CharField(max_length=64)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "msp",
                "idempotency_key",
                name="sourcing_idempotency_key_unique_per_msp",
                condition=Q(idempotency_key__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of product {self.product_id} for MSP {self.msp_id}"
