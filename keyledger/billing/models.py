"""Billing (SPEC §8): the active spans every bill is counted from, price lists, and
statements (the seed's invoices).

Amounts are kept in the minor unit of their currency (cents, yen) as whole numbers, so
that sums in SQL are exact on every database; Python turns them into Decimal
(keyledger.billing.money).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ActiveSpan(models.Model):
    """A stretch of time in which a key was active (ProductKey.ACTIVE_STATES) with the same
    edition, account and site. An active period (activation to final deactivation) is one
    span or several in a row: an edition change or a move starts a new one, so a month's
    bill can say where the key was and what it ran at the month's end.

    Written by keyledger.keys.states in the transaction of the state change that causes it,
    so spans and KeyEvents never disagree. `ended_at` is null while the span is open.
    """

    key = models.ForeignKey("keys.ProductKey", on_delete=models.PROTECT, related_name="active_spans")
    # Constant for a key (keys move within their MSP only), so scoping needs no join.
    msp = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("keys.Product", on_delete=models.PROTECT, related_name="+")
    # The activation that opened the active period this span belongs to.
    period_start = models.DateTimeField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # The span that closed its active period (the deactivation became final at ended_at).
    ends_period = models.BooleanField(default=False)
    edition = models.CharField(max_length=32, blank=True)
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(
        "customers.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    machine_name = models.CharField(max_length=200, blank=True)
    # Frozen when the period ends (for the Activation Report); the key's own while open.
    last_call_home_at = models.DateTimeField(null=True, blank=True)
    version = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["key_id", "started_at", "id"]
        indexes = [
            models.Index(fields=["key", "started_at"], name="span_key_started"),
            models.Index(fields=["msp", "started_at"], name="span_msp_started"),
            models.Index(fields=["ended_at"], name="span_ended"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="span_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=Q(started_at__gte=models.F("period_start")), name="span_in_period"
            ),
            models.UniqueConstraint("key", condition=Q(ended_at__isnull=True), name="span_one_open_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} {self.started_at:%Y-%m-%d %H:%M} → {self.ended_at or '…'}"


class PriceList(models.Model):
    """What one organisation charges one of the organisations directly below it: the vendor a
    distributor, a distributor its MSPs (or its sub-distributors). One currency per list."""

    issuer = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="price_lists_issued"
    )
    customer = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="price_lists"
    )
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["customer__name"]
        constraints = [models.UniqueConstraint("customer", name="price_list_one_per_customer")]

    def __str__(self) -> str:
        return f"{self.issuer} → {self.customer} ({self.currency})"


class Price(models.Model):
    """One price of a list, applying from `valid_from` (the first day of a month) until a later
    price of the same item takes over. Prices are never edited: history is kept.

    `item` is what is priced: an edition code (SP-MSP, per edition), a job license type code
    (ImageManager, per license the key holds), or "" (one price per key, GRE)."""

    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, related_name="prices")
    product = models.ForeignKey("keys.Product", on_delete=models.PROTECT, related_name="+")
    item = models.CharField(max_length=32, blank=True)
    valid_from = models.DateField()
    unit_minor = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["product__sort_order", "item", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                "price_list", "product", "item", "valid_from", name="price_one_per_item_month"
            ),
            models.CheckConstraint(condition=Q(unit_minor__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}/{self.item or '*'} from {self.valid_from:%Y-%m}: {self.unit_minor}"


class Statement(models.Model):
    """What `issuer` bills `customer` for one month. A draft follows late events until it is
    final; a final statement never changes (the database refuses it, see migration 0002)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINAL = "final", "Final"

    issuer = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="statements"
    )
    month = models.DateField(help_text="The first day of the billing month.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(max_length=40, null=True, blank=True, unique=True)
    currency = models.CharField(max_length=3, blank=True)
    # {"EUR": 12345} in minor units; a statement without prices has none.
    totals = models.JSONField(default=dict, blank=True)
    key_count = models.PositiveIntegerField(default=0, help_text="Keys active in the month.")
    billable_count = models.PositiveIntegerField(default=0)
    unpriced_count = models.PositiveIntegerField(default=0, help_text="Billable keys without a price.")
    computed_at = models.DateTimeField(default=timezone.now)
    # The newest KeyEvent id the lines were computed from: later events with an earlier
    # time (a lease that ended while the worker was down) make the draft stale.
    event_watermark = models.BigIntegerField(default=0)
    finalised_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finalised_by_label = models.CharField(max_length=255, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-month", "customer__name"]
        constraints = [
            models.UniqueConstraint("issuer", "customer", "month", name="statement_one_per_customer_month"),
            models.CheckConstraint(
                condition=Q(status="draft", number__isnull=True, finalised_at__isnull=True)
                | Q(status="final", number__isnull=False, finalised_at__isnull=False),
                name="statement_numbered_when_final",
            ),
        ]
        indexes = [models.Index(fields=["status", "month"], name="statement_status_month")]

    def __str__(self) -> str:
        return self.number or f"Draft {self.month:%Y-%m} {self.issuer} → {self.customer}"

    @property
    def is_final(self) -> bool:
        return self.status == self.Status.FINAL


class StatementLine(models.Model):
    """A line of a statement: a charge (billable keys of one product and edition, or the job
    licenses of one type they hold), or a correction of an earlier final statement."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        CORRECTION = "correction", "Correction"

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CHARGE)
    product = models.ForeignKey(
        "keys.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    item = models.CharField(max_length=32, blank=True)
    description = models.CharField(max_length=500)
    quantity = models.IntegerField()
    unit_minor = models.BigIntegerField(null=True, blank=True)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # A correction names the final statement and the key it corrects.
    corrects = models.ForeignKey(Statement, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key = models.ForeignKey(
        "keys.ProductKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["statement_id", "position"]
        constraints = [models.UniqueConstraint("statement", "position", name="statement_line_position")]

    def __str__(self) -> str:
        return self.description


class StatementItem(models.Model):
    """One key of a final statement, as billed: the Billing Detail Report of a final month is
    read from these rows, so it never changes either."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="items")
    key = models.ForeignKey("keys.ProductKey", on_delete=models.PROTECT, related_name="+")
    msp = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("keys.Product", on_delete=models.PROTECT, related_name="+")
    edition = models.CharField(max_length=32, blank=True)
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(
        "customers.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Names as they were when the statement became final: a later rename does not rewrite it.
    msp_name = models.CharField(max_length=200)
    product_name = models.CharField(max_length=200)
    account_name = models.CharField(max_length=200)
    site_name = models.CharField(max_length=200, blank=True)
    machine_name = models.CharField(max_length=200, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    active_days = models.PositiveSmallIntegerField()
    billable = models.BooleanField()
    unit_minor = models.BigIntegerField(null=True, blank=True)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["statement_id", "id"]
        constraints = [models.UniqueConstraint("statement", "key", name="statement_item_one_per_key")]
        indexes = [models.Index(fields=["statement", "msp"], name="statement_item_msp")]

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.key_id}"


class StatementCounter(models.Model):
    """The last statement number an issuer gave: taken under a row lock in the transaction
    that finalises, so numbers are gap-free (a rolled-back finalisation gives its number back)."""

    issuer = models.OneToOneField("organisations.Organisation", on_delete=models.PROTECT, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.issuer_id}: {self.last_number}"
