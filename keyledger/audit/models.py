from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One row per state change: who (user or API token), what, when, from where. Never updated."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_user = models.ForeignKey(
        "organisations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Tokens are referred to by id and prefix, so the audit trail stays readable after revocation.
    actor_token_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=255)
    # The organisation the change concerns: the audit log of a subtree is a prefix match on its path.
    organisation = models.ForeignKey(
        "organisations.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organisation_path = models.CharField(max_length=255, db_index=True, default="")
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    channel = models.CharField(max_length=16)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
