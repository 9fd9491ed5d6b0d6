"""Creating and revoking API tokens. The caller checks access (keyledger.access) first."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from keyledger.api.models import ApiToken, ApiTokenAddress, hash_secret
from keyledger.audit.actor import Actor
from keyledger.audit.record import record
from keyledger.organisations.models import Organisation

_PREFIX_ATTEMPTS = 5


@transaction.atomic
def create_token(
    *,
    organisation: Organisation,
    name: str,
    scope: str,
    actor: Actor,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; return it with the full token text, which is never shown again.

    The token never does more than its creator's role allows at the time of each request.
    A token made for another organisation by vendor staff, or by a script (no user), has no
    creator of that organisation: the Read-only role bounds it (ApiToken.bounding_role).
    Anyone else who is not a user of the organisation is not recorded as its creator."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, so that you can tell it apart later."})
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": "Choose read-only or read-write."})
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ValidationError({"expires_at": "Choose an expiry date in the future."})
    creator = actor.user
    if creator is not None and creator.organisation_id != organisation.pk and not creator.is_vendor_staff:
        creator = None
    secret = ApiToken.new_secret()
    for _ in range(_PREFIX_ATTEMPTS):
        prefix = ApiToken.new_prefix()
        full = f"{prefix}_{secret}"
        try:
            # A savepoint: a (very unlikely) prefix collision is retried, not fatal.
            with transaction.atomic():
                token = ApiToken.objects.create(
                    organisation=organisation,
                    name=name,
                    prefix=prefix,
                    secret_hash=hash_secret(full),
                    scope=scope,
                    created_by=creator,
                    created_at=now,
                    expires_at=expires_at,
                )
            break
        except IntegrityError:
            continue
    else:
        raise RuntimeError("Could not find a free API token prefix.")
    record(
        actor=actor,
        action="api_token.create",
        organisation=organisation,
        obj=token,
        changes={
            "name": token.name,
            "prefix": token.prefix,
            "scope": token.scope,
            "expires_at": expires_at.isoformat() if expires_at else None,
            # Whose role bounds the token; None: the Read-only role (ApiToken.bounding_user).
            "bounded_by": token.bounding_user.email if token.bounding_user else None,
        },
    )
    return token, full


@transaction.atomic
def revoke_token(*, token: ApiToken, actor: Actor) -> ApiToken:
    """Revoke at once: the next request made with the token is refused."""
    now = timezone.now()
    # Compare-and-set: revoking twice keeps the first revocation time and writes one audit row.
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        raise ValidationError("This token is already revoked.", code="already_revoked")
    token.revoked_at = now
    record(
        actor=actor,
        action="api_token.revoke",
        organisation=token.organisation,
        obj=token,
        changes={"prefix": token.prefix, "revoked_at": now.isoformat()},
    )
    return token


@transaction.atomic
def note_address(*, token: ApiToken, ip: str, actor: Actor) -> bool:
    """Remember that the token was used from this address; the first use from an address
    is audited. Returns whether the address is new."""
    # The unique (token, ip) row decides, also between concurrent first requests: one audit row.
    _, created = ApiTokenAddress.objects.get_or_create(token=token, ip=ip)
    ApiToken.objects.filter(pk=token.pk).update(last_ip=ip)
    token.last_ip = ip
    if created:
        record(
            actor=actor,
            action="api_token.new_address",
            organisation=token.organisation,
            obj=token,
            changes={"prefix": token.prefix, "ip": ip},
        )
    return created
