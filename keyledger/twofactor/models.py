from __future__ import annotations

from datetime import date

from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    OWN = "own", "Its own users"
    DISTRIBUTORS = "distributors", "Users of every distributor below it"
    MSPS = "msps", "Users of every MSP below it"


class TwoFactorRequirement(models.Model):
    """An organisation requires two-factor authentication of its own users, or of the
    distributors or MSPs below it, from a date on. Kept apart from Organisation so the
    rule lives in one app; keyledger.twofactor.policy reads it."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="two_factor_requirements"
    )
    scope = models.CharField(max_length=16, choices=Scope.choices)
    applies_from = models.DateField(help_text="From this day (UTC) on, users without it must set it up.")
    set_by = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation__path", "scope"]
        constraints = [
            models.UniqueConstraint("organisation", "scope", name="two_factor_requirement_once_per_scope"),
            models.CheckConstraint(
                condition=models.Q(scope__in=["own", "distributors", "msps"]),
                name="two_factor_requirement_known_scope",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.organisation} requires two-factor authentication ({self.scope}) from {self.applies_from}"
        )

    def is_in_force_on(self, day: date) -> bool:
        return day >= self.applies_from
