from __future__ import annotations

from typing import Any

from django.db import models

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry


def record(
    *,
    actor: Actor,
    action: str,
    organisation: Any | None,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write the audit row of a change. Call it inside the action's transaction."""
    return AuditEntry.objects.create(
        actor_user=actor.user,
        actor_token_id=getattr(actor.token, "pk", None),
        actor_label=actor.label[:255],
        organisation=organisation,
        organisation_path=organisation.path if organisation is not None else "",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        changes=changes or {},
        ip_address=actor.ip,
        channel=actor.channel,
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields that changed, as {"field": [old, new]}."""
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
