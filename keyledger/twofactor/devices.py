"""A user's second factor as django-otp stores it: one confirmed TOTP device (the
authenticator app) and one static device holding the unused recovery codes."""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import quote, urlencode

from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from keyledger.organisations.models import User

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10
ISSUER = "Keyledger"


def authenticator(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def with_two_factor(users: QuerySet[User]) -> QuerySet[User]:
    """Each user with `has_two_factor`, in the same query (the Users page)."""
    return users.annotate(
        has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_NAME).count()


def normalise_code(text: str) -> str:
    """People type codes with spaces or dashes, and recovery codes in capitals."""
    return "".join(ch for ch in text if ch.isalnum()).lower()


def new_recovery_codes() -> list[str]:
    return [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]


def recovery_device(user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, name=RECOVERY_NAME).order_by("pk").first()


def otpauth_uri(email: str, key: str) -> str:
    """What the QR code holds (Google's Key URI format): the app lists it as "Keyledger" with
    the email, and its codes are django-otp's defaults (SHA-1, 6 digits, 30 seconds)."""
    secret = b32encode(bytes.fromhex(key)).decode().rstrip("=")
    label = quote(f"{ISSUER}:{email}", safe=":@")
    params = urlencode({"secret": secret, "issuer": ISSUER, "algorithm": "SHA1", "digits": 6, "period": 30})
    return f"otpauth://totp/{label}?{params}"
