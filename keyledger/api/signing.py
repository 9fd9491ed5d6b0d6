"""The Ed25519 key that signs every call-home answer (SPEC §7), so that a product can verify
an answer offline with the public key served at /api/v1/signing-key.

The private key comes from KEYLEDGER_SIGNING_KEY (PEM, or the raw 32 bytes in base64), or
else from the file KEYLEDGER_SIGNING_KEY_FILE, which is created (mode 0600) on first use.
Several web processes must share one key: in production set one of the two explicitly.
The key is never logged and never part of an error message.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HEADER = "Keyledger-Signature"
ALGORITHM = "ed25519"

_lock = threading.Lock()
_cache: dict[tuple[str, str], Ed25519PrivateKey] = {}


def _from_setting(value: str) -> Ed25519PrivateKey:
    if value.lstrip().startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(value.encode(), password=None)
        except ValueError:
            raise ImproperlyConfigured("KEYLEDGER_SIGNING_KEY is not a readable PEM private key.") from None
    else:
        try:
            raw = base64.b64decode(value.strip(), validate=True)
            key = Ed25519PrivateKey.from_private_bytes(raw)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(
                "KEYLEDGER_SIGNING_KEY is neither a PEM private key nor 32 bytes in base64."
            ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("KEYLEDGER_SIGNING_KEY is not an Ed25519 key.")
    return key


def _from_file(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        _create_key_file(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise ImproperlyConfigured(f"{path} (KEYLEDGER_SIGNING_KEY_FILE) is not a PEM private key.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{path} (KEYLEDGER_SIGNING_KEY_FILE) is not an Ed25519 key.")
    return key


def _create_key_file(path: Path) -> None:
    """Write a new key to `path`, unless another process gets there first: the key is written
    to a private temporary file and then hard-linked into place, which either wins whole or
    fails, so no process ever reads a half-written key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)


def private_key() -> Ed25519PrivateKey:
    """The signing key, loaded once per process (per configuration)."""
    setting = settings.KEYLEDGER_SIGNING_KEY or ""
    path = str(settings.KEYLEDGER_SIGNING_KEY_FILE)
    cache_key = (setting, path)
    key = _cache.get(cache_key)
    if key is None:
        with _lock:
            key = _cache.get(cache_key)
            if key is None:
                key = _from_setting(setting) if setting else _from_file(Path(path))
                _cache[cache_key] = key
    return key


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_base64() -> str:
    raw = public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_pem() -> str:
    return (
        public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def signature_header(body: bytes) -> str:
    """The header value for `body`: ed25519=<base64 of the signature over the exact bytes>."""
    return f"{ALGORITHM}={base64.b64encode(private_key().sign(body)).decode()}"
