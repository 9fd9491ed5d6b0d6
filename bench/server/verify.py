"""Checking sampled answers as a product would: the Ed25519 signature over the exact body
bytes with the public key from GET /api/v1/signing-key, and what the body says."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bench.server.openloop import Answer


def fetch_public_key(url: str) -> bytes:
    request = urllib.request.Request(  # noqa: S310 (the bench's own http:// URL)
        url + "/api/v1/signing-key", headers={"X-Forwarded-Proto": "https"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return base64.b64decode(json.loads(answer.read())["public_key"])


def signed(public_key: bytes, header: str, body: bytes) -> bool:
    if not header.startswith("ed25519="):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(base64.b64decode(header[8:]), body)
    except (InvalidSignature, ValueError):
        return False
    return True


def wrk_samples(base: Path, public_key: bytes) -> dict[str, int]:
    """The answers the Lua script wrote (one file per wrk thread and run, appended)."""
    checked = bad = 0
    for path in sorted(base.parent.glob(base.name + ".*")):
        for line in path.read_bytes().splitlines():
            header, _, body = line.partition(b"\t")
            checked += 1
            try:
                active = json.loads(body).get("status") == "active"
            except ValueError:
                active = False
            bad += not (active and signed(public_key, header.decode(), body))
    return {"checked": checked, "bad": bad}


def open_loop_samples(
    samples: list[Answer], public_key: bytes, *, keys: list[str], start: int
) -> dict[str, Any]:
    checked = bad = 0
    for answer in samples:
        checked += 1
        try:
            data = json.loads(answer.body)
        except ValueError:
            bad += 1
            continue
        n = (start + answer.number) % len(keys)
        good = (
            answer.status == 200
            and data.get("status") == "active"
            and data.get("key") == keys[n]
            and data.get("nonce") == f"open-{start + answer.number}"
            and signed(public_key, answer.headers.get("keyledger-signature", ""), answer.body)
        )
        bad += not good
    return {"checked": checked, "bad": bad}
