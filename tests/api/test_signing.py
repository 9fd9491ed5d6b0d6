import base64
import stat

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

from keyledger.api import signing
from tests.keys.factories import source


@pytest.fixture
def key_file(settings, tmp_path):
    settings.KEYLEDGER_SIGNING_KEY = ""
    settings.KEYLEDGER_SIGNING_KEY_FILE = tmp_path / "keys" / "signing-key.pem"
    signing._cache.clear()
    yield settings.KEYLEDGER_SIGNING_KEY_FILE
    signing._cache.clear()


def raw_public(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()


def verify(public_b64: str, header: str, body: bytes) -> None:
    scheme, _, signature = header.partition("=")
    assert scheme == "ed25519"
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64)).verify(base64.b64decode(signature), body)


def test_the_key_file_is_created_on_first_use_readable_by_its_owner_only(key_file):
    assert not key_file.exists()
    first = signing.private_key()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    signing._cache.clear()
    assert raw_public(signing.private_key()) == raw_public(first)


def test_the_key_is_loaded_once_per_process(key_file, monkeypatch):
    signing.private_key()
    monkeypatch.setattr(signing, "_from_file", lambda path: pytest.fail("read again"))
    for _ in range(3):
        signing.signature_header(b"x")


def test_a_base64_key_in_the_settings(key_file, settings):
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    settings.KEYLEDGER_SIGNING_KEY = base64.b64encode(raw).decode()
    verify(raw_public(key), signing.signature_header(b"body"), b"body")
    assert not key_file.exists()


def test_a_pem_key_in_the_settings(key_file, settings):
    key = Ed25519PrivateKey.generate()
    settings.KEYLEDGER_SIGNING_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert signing.public_key_base64() == raw_public(key)
    verify(raw_public(key), signing.signature_header(b"body"), b"body")


@pytest.mark.parametrize(
    "value",
    ["not-a-key-but-secret", base64.b64encode(b"short").decode(), "-----BEGIN PRIVATE KEY-----\nsecret\n"],
)
def test_an_unusable_key_in_the_settings_is_refused_without_repeating_it(key_file, settings, value):
    settings.KEYLEDGER_SIGNING_KEY = value
    with pytest.raises(ImproperlyConfigured) as exc:
        signing.private_key()
    assert value.strip() not in str(exc.value) and "secret" not in str(exc.value)


def test_a_key_file_that_is_not_a_key_is_refused(key_file):
    key_file.parent.mkdir(parents=True)
    key_file.write_text("garbage")
    with pytest.raises(ImproperlyConfigured):
        signing.private_key()


def test_the_signing_key_endpoint_publishes_the_public_key(db, client, key_file):
    response = client.get("/api/v1/signing-key")
    assert response.status_code == 200
    data = response.json()
    assert data["algorithm"] == "ed25519"
    assert len(base64.b64decode(data["public_key"])) == 32
    from_pem = serialization.load_pem_public_key(data["pem"].encode())
    assert (
        base64.b64encode(
            from_pem.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode()
        == data["public_key"]
    )
    assert data["public_key"] == raw_public(signing.private_key())
    verify(data["public_key"], response["Keyledger-Signature"], response.content)


def test_a_call_home_answer_verifies_with_only_the_published_key(tree, client, key_file):
    (key,) = source(account=tree.account_a1)
    public = client.get("/api/v1/signing-key").json()["public_key"]
    body = {
        "key": key.key,
        "machine": {"name": "FS01", "hardware_id": "h", "software_id": "s"},
        "product": "spmsp",
        "edition": "desktop",
        "nonce": "n0nce",
    }
    response = client.post("/api/v1/call-home", body, content_type="application/json")
    assert response.status_code == 200 and response.json()["nonce"] == "n0nce"
    verify(public, response["Keyledger-Signature"], response.content)
    with pytest.raises(InvalidSignature):
        verify(public, response["Keyledger-Signature"], response.content + b" ")


def test_a_key_file_written_by_another_process_is_kept(key_file):
    signing._create_key_file(key_file)
    written = key_file.read_bytes()
    signing._create_key_file(key_file)  # the slower process loses the race
    assert key_file.read_bytes() == written
    assert [p.name for p in key_file.parent.iterdir()] == ["signing-key.pem"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
